"""stereo/columns: the parameters kept in the stereo table, against the reference's rule
(symmetric differences of pandas column sets with the ids as index, dropped with
``errors="ignore"``) on random column lists and on the columns of real files."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from lmcoinc.io.lst import LST_INDEX
from lmcoinc.io.lst_events import load_lst
from lmcoinc.io.magic import MAGIC_INDEX
from lmcoinc.io.magic_events import scan_magic
from lmcoinc.stereo.columns import common_columns, not_common_parameters

from ..helpers.badinputs import lst_file

POOL = ["intensity", "length", "width", "phi", "psi", "slope", "pointing_alt", "pointing_az",
        "time_diff", "x", "y", "event_type", "n_pixels", "timestamp", "time_sec",
        "time_nanosec", "intercept"]


def reference_keep(lst_columns: list[str], magic_columns: list[str]) -> tuple[list, list]:
    """The reference's steps on empty frames indexed by the ids; the columns left."""
    event_data_lst = pd.DataFrame(columns=lst_columns).set_index(list(LST_INDEX))
    event_data_magic = pd.DataFrame(columns=magic_columns).set_index(list(MAGIC_INDEX))
    params_lst = set(event_data_lst.columns) ^ set(["timestamp"])
    params_magic = set(event_data_magic.columns) ^ set(["time_sec", "time_nanosec"])
    params_non_common = list(params_lst ^ params_magic)
    event_data_lst.drop(params_non_common, axis=1, errors="ignore", inplace=True)
    event_data_magic.drop(params_non_common, axis=1, errors="ignore", inplace=True)
    return ([*LST_INDEX, *event_data_lst.columns], [*MAGIC_INDEX, *event_data_magic.columns])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(POOL), unique=True), st.lists(st.sampled_from(POOL), unique=True))
def test_common_columns_as_the_reference(lst, magic):
    lst_columns, magic_columns = [*LST_INDEX, *lst], [*MAGIC_INDEX, *magic]
    assert common_columns(lst_columns, magic_columns) == reference_keep(lst_columns,
                                                                        magic_columns)


def test_the_timestamp_columns_stand_for_each_other():
    lst = [*LST_INDEX, "intensity", "timestamp", "event_type"]
    magic = [*MAGIC_INDEX, "time_sec", "intensity", "x", "time_nanosec"]
    assert common_columns(lst, magic) == (
        [*LST_INDEX, "intensity", "timestamp"],
        [*MAGIC_INDEX, "time_sec", "intensity", "time_nanosec"])
    assert not_common_parameters(["intensity", "timestamp", "event_type"],
                                 ["time_sec", "intensity", "x", "time_nanosec"]) == {
        "event_type", "x"}
    # the rule is a symmetric difference: a missing timestamp drops MAGIC's time columns
    assert not_common_parameters(["intensity"], ["intensity", "time_sec", "time_nanosec"]) == {
        "timestamp"}
    assert not_common_parameters(["intensity", "timestamp"], ["intensity", "time_sec"]) == {
        "time_nanosec"}


def test_columns_of_real_files(good):
    lst = load_lst(lst_file(good), "dragon_time").columns
    magic = scan_magic(good / "magic").columns
    kept_lst, kept_magic = common_columns(lst, magic)
    assert (kept_lst, kept_magic) == reference_keep(lst, magic)
    assert {"timestamp", "intensity", "length", "slope", "time_diff"} <= set(kept_lst)
    assert {"time_sec", "time_nanosec"} <= set(kept_magic)
    lst_only, magic_only = {"event_type", "tib_time", "wl"}, {"tels_with_trigger", "deviation"}
    assert lst_only <= set(lst) and not lst_only & set(kept_lst)
    assert magic_only <= set(magic) and not magic_only & set(kept_magic)
    # the parameters are the same on both sides but for the timestamps
    params = set(kept_lst) - set(LST_INDEX) - {"timestamp"}
    assert params == set(kept_magic) - set(MAGIC_INDEX) - {"time_sec", "time_nanosec"}
