"""Tables made by a real writer's template row, then filled with columns at once."""

from __future__ import annotations

import numpy as np
import pytest
import tables

from lmcoinc.simulate.tablewriter import append_columns, template_table


def _writer_table(path, n, columns, chunk):
    from ctapipe.containers import EventIndexContainer
    from ctapipe.io import HDF5TableWriter

    with HDF5TableWriter(str(path), group_name="events", mode="w", add_prefix=True) as writer:
        table, template = template_table(writer, "events", "index",
                                         [EventIndexContainer(obs_id=3265, event_id=-5)])
        assert table.nrows == 0  # the template row removed
        append_columns(table, template, columns, n, chunk=chunk)
    return template


@pytest.mark.parametrize("chunk", [3, 100])
def test_columns_appended_missing_ones_from_the_template(tmp_path, chunk):
    path = tmp_path / "t.h5"
    template = _writer_table(path, 7, {"event_id": np.arange(10, 17)}, chunk)
    assert (template["obs_id"], template["event_id"]) == (3265, -5)
    with tables.open_file(path) as f:
        table = f.get_node("/events/index")
        rows, filters = table.read(), table.filters
        attrs = table.attrs._v_attrnames
    assert rows["event_id"].tolist() == list(range(10, 17))
    assert (rows["obs_id"] == 3265).all()  # not given: the template's value
    assert filters.complib == "blosc:zstd" and filters.fletcher32  # the writer's
    assert "CTAFIELD_0_NAME" in attrs  # the writer's column metadata


def test_unknown_column(tmp_path):
    with pytest.raises(KeyError, match=r"columns not in table /events/index: \['energy'\]"):
        _writer_table(tmp_path / "t.h5", 2, {"event_id": np.arange(2), "energy": np.ones(2)}, 10)
