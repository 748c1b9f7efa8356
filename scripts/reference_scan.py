#!/usr/bin/env python
"""Stand-in for the reference coincidence, for timing when magic-cta-pipe is not installed.

``scripts/bench.py`` runs this when no venv with magic-cta-pipe 0.6.2 is found. It
follows the structure of the reference ``lst1_magic_event_coincidence`` so that its
time and memory grow the same way:

* pandas frames, read with ``pandas.read_hdf`` and indexed and sorted like the reference's;
* LST timestamps converted one at a time as ``Decimal(str(x)) * 1e9``, MAGIC ones from
  ``Decimal`` seconds and nanoseconds, all held as astropy Quantities;
* the N×N pre-offset search over the largest-intensity events;
* for every scanned offset, the full N_LST × N_MAGIC boolean masks (two comparisons and
  their AND), and the same masks again at the average offset to get the pairs;
* the stereo assembly with pandas (group means, multiplicity, combination type) and the
  row-by-row conversion to a structured array before writing with PyTables.

It does not import ctapipe or lstchain: the subarray descriptions are neither read nor
checked nor written, and the images are not copied. Its wall time and peak RSS are
therefore a lower bound of the reference's (the reference spends a few seconds
importing ctapipe and lstchain).

Usage: python scripts/reference_scan.py -l LST_FILE -m MAGIC_DIR -o OUT_DIR -c CONFIG
"""

from __future__ import annotations

import argparse
import glob
import logging
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import tables
import yaml
from astropy import units as u

log = logging.getLogger("reference_scan")

LST_KEY = "dl1/event/telescope/parameters/LST_LSTCam"
OPTICS_KEY = "configuration/instrument/telescope/optics"
MAGIC_KEY = "events/parameters"
SEC2NSEC = Decimal("1e9")
TIME_ACCURACY = 100 * u.ns
EVENT_TYPE_SUBARRAY = 32
EQUIVALENT_FOCLEN_LST = 28.0
NO_COINCIDENT_EVENTS = 3
NO_MAGIC_EVENTS = 7
LST_RENAMES = {
    "obs_id": "obs_id_lst",
    "event_id": "event_id_lst",
    "delta_t": "time_diff",
    "alt_tel": "pointing_alt",
    "az_tel": "pointing_az",
    "leakage_pixels_width_1": "pixels_width_1",
    "leakage_pixels_width_2": "pixels_width_2",
    "leakage_intensity_width_1": "intensity_width_1",
    "leakage_intensity_width_2": "intensity_width_2",
    "time_gradient": "slope",
}


def telescope_combinations(mc_tel_ids: dict[str, int]):
    """Names by tel_id and the telescope combinations in the reference's enumeration order."""
    names = {tel_id: name for name, tel_id in mc_tel_ids.items() if tel_id > 0}
    keys = list(names)
    combos: dict[str, list[int]] = {}

    def visit(i: int, combo_names: list[str], combo_ids: list[int]) -> None:
        combo_names, combo_ids = combo_names + [names[keys[i]]], combo_ids + [keys[i]]
        if len(combo_ids) > 1:
            combos["_".join(combo_names)] = combo_ids
        for j in range(i + 1, len(keys)):
            visit(j, combo_names, combo_ids)

    for i in range(len(keys)):
        visit(i, [], [])
    return names, combos


def load_lst(path: str) -> pd.DataFrame:
    """The LST-1 events arranged as the reference's ``load_lst_dl1_data_file`` does."""
    df = pd.read_hdf(path, key=LST_KEY)
    if "dragon_time" in df.columns:
        df["delta_t"] = np.insert(np.diff(np.array(df["dragon_time"])), 0, 0)
    df.query(f"event_type == {EVENT_TYPE_SUBARRAY}", inplace=True)
    df.dropna(subset=["intensity", "time_gradient", "alt_tel", "az_tel"], inplace=True)
    df.drop_duplicates(subset=["obs_id", "event_id"], keep=False, inplace=True)
    df.rename(columns=LST_RENAMES, inplace=True)
    df.set_index(["obs_id_lst", "event_id_lst", "tel_id"], inplace=True)
    df.sort_index(inplace=True)
    focal_length = pd.read_hdf(path, key=OPTICS_KEY)["equivalent_focal_length"][0]
    df["length"] = focal_length * np.tan(np.deg2rad(df["length"]))
    df["width"] = focal_length * np.tan(np.deg2rad(df["width"]))
    df["phi"] = np.rad2deg(df["phi"])
    df["psi"] = np.rad2deg(df["psi"])
    return df


def load_magic(input_dir: str) -> pd.DataFrame:
    """The MAGIC events arranged as the reference's ``load_magic_dl1_data_files`` does."""
    files = sorted(glob.glob(f"{input_dir}/dl1_*.h5"))
    if not files:
        raise FileNotFoundError("Could not find any DL1 data files in the input directory.")
    frames = []
    for path in files:
        try:
            frames.append(pd.read_hdf(path, key=MAGIC_KEY))
        except KeyError:
            log.warning("File %s has no events/parameters key, skipping", path)
    if not frames:
        log.error("no MAGIC events, exiting")
        sys.exit(NO_MAGIC_EVENTS)
    df = pd.concat(frames)
    df.drop_duplicates(subset=["obs_id", "event_id", "tel_id"], keep=False, inplace=True)
    df.rename(columns={"obs_id": "obs_id_magic", "event_id": "event_id_magic"}, inplace=True)
    df.set_index(["obs_id_magic", "event_id_magic", "tel_id"], inplace=True)
    df.sort_index(inplace=True)
    return df


def coincidence_mask(t_lst, t_magic, offset, window) -> np.ndarray:
    """The N_LST × N_MAGIC mask of the pairs within the window at one offset."""
    lolim = t_lst + offset - window
    uplim = t_lst + offset + window
    cond_lolim = t_magic.value >= lolim[:, np.newaxis].value
    cond_uplim = t_magic.value <= uplim[:, np.newaxis].value
    return np.logical_and(cond_lolim, cond_uplim)


def pre_offset_search(t_lst, intensity_lst, t_magic, intensity_magic, window, n_events):
    """The reference's N×N pre-offset search: the offset (µs Quantity) or None."""
    in_lst = np.logical_and(t_magic >= t_lst[0] - window, t_magic <= t_lst[-1] + window)
    if np.count_nonzero(in_lst) == 0:
        return None
    index_magic = np.argsort(intensity_magic[in_lst])[::-1][:n_events]
    t_in = t_magic[in_lst]
    in_magic = np.logical_and(t_lst >= t_in[0] - window, t_lst <= t_in[-1] + window)
    if np.count_nonzero(in_magic) == 0:
        return None
    index_lst = np.argsort(intensity_lst[in_magic])[::-1][:n_events]
    grid = np.array(
        np.meshgrid(t_in[index_magic].value, t_lst[in_magic][index_lst].value)
    ).reshape(2, -1)
    diffs = u.Quantity((grid[0] - grid[1]).round(), unit="ns", dtype=int)
    counts = np.array([np.sum(np.abs(diffs - d).value < window.value) for d in diffs])
    return diffs[counts == counts.max()].mean().to("us").round(1)


def event_coincidence(lst_file: str, magic_dir: str, output_dir: str, config: dict) -> None:
    """The reference's coincidence of one LST-1 subrun with the MAGIC files of a directory."""
    conf = config["event_coincidence"]
    tel_names, tel_combos = telescope_combinations(config["mc_tel_ids"])
    data_lst = load_lst(lst_file)
    data_magic = load_magic(magic_dir)

    ts_type = conf["timestamp_type_lst"]
    data_lst.rename(columns={ts_type: "timestamp"}, inplace=True)
    params_lst = set(data_lst.columns) ^ {"timestamp"}
    params_magic = set(data_magic.columns) ^ {"time_sec", "time_nanosec"}
    non_common = list(params_lst ^ params_magic)
    data_lst.drop(non_common, axis=1, errors="ignore", inplace=True)
    data_magic.drop(non_common, axis=1, errors="ignore", inplace=True)

    window = u.Quantity(u.Quantity(conf["window_half_width"]).to("ns").round(), dtype=int)
    do_pre_search = conf.get("pre_offset_search", False)
    offset_start = u.Quantity(conf["time_offset"]["start"])
    offset_stop = u.Quantity(conf["time_offset"]["stop"])

    t_lst = np.array([Decimal(str(x)) for x in data_lst["timestamp"]]) * SEC2NSEC
    t_lst = u.Quantity(t_lst, unit="ns", dtype=int)
    intensity_lst = data_lst["intensity"]

    event_data, features = pd.DataFrame(), pd.DataFrame()
    profiles = pd.DataFrame(data={"time_offset": []})
    for tel_id in np.unique(data_magic.index.get_level_values("tel_id")):
        df_magic = data_magic.query(f"tel_id == {tel_id}").copy()
        seconds = np.array([Decimal(str(x)) for x in df_magic["time_sec"]])
        nanoseconds = np.array([Decimal(str(x)) for x in df_magic["time_nanosec"]])
        t_magic = u.Quantity(seconds * SEC2NSEC + nanoseconds, unit="ns", dtype=int)
        df_magic["timestamp"] = t_magic.to_value("s")
        df_magic.drop(["time_sec", "time_nanosec"], axis=1, inplace=True)

        if do_pre_search:
            pre = pre_offset_search(t_lst, intensity_lst, t_magic, df_magic["intensity"],
                                    window, conf["n_pre_offset_search_events"])
            if pre is None:
                log.info("%s: no events for the pre offset search, skipping", tel_names[tel_id])
                continue
            offset_start, offset_stop = pre - 3 * window, pre + 3 * window
        offsets = np.arange(
            start=offset_start.to_value("ns").round(),
            stop=offset_stop.to_value("ns").round(),
            step=TIME_ACCURACY.to_value("ns").round(),
        )
        offsets = u.Quantity(offsets.round(), unit="ns", dtype=int)

        lolim = t_lst[0] + offsets[0] - window
        uplim = t_lst[-1] + offsets[-1] + window
        candidates = np.logical_and(t_magic >= lolim, t_magic <= uplim)
        n_events_magic = np.count_nonzero(candidates)
        if n_events_magic == 0:
            continue
        df_magic = df_magic.iloc[candidates]
        t_magic = t_magic[candidates]

        n_coincidences = np.array(
            [np.count_nonzero(coincidence_mask(t_lst, t_magic, o, window)) for o in offsets]
        )
        if not n_coincidences.any():
            continue
        offset_at_max = offsets[n_coincidences == n_coincidences.max()].mean()
        near = np.logical_and(offsets >= np.round(offset_at_max - 2 * window),
                              offsets <= np.round(offset_at_max + 2 * window))
        average = np.average(offsets[near], weights=n_coincidences[near])
        average = u.Quantity(average.round(), dtype=int)

        mask = coincidence_mask(t_lst, t_magic, average, window)
        n_at_average = np.count_nonzero(mask)
        idx_lst, idx_magic = np.where(mask)
        magic_index = df_magic.iloc[idx_magic].index
        df_lst = data_lst.iloc[idx_lst].copy()
        df_lst["obs_id_magic"] = magic_index.get_level_values("obs_id_magic")
        df_lst["event_id_magic"] = magic_index.get_level_values("event_id_magic")
        df_lst.reset_index(inplace=True)
        df_lst.set_index(["obs_id_magic", "event_id_magic", "tel_id"], inplace=True)
        df_magic.loc[magic_index, "obs_id_lst"] = df_lst["obs_id_lst"].to_numpy()
        df_magic.loc[magic_index, "event_id_lst"] = df_lst["event_id_lst"].to_numpy()

        coincidence_id = int(f"1{tel_id}")
        feature = pd.DataFrame(data={
            "coincidence_id": [coincidence_id],
            "window_half_width": [window.to_value("ns")],
            "unix_time": [df_lst["timestamp"].mean()],
            "pointing_alt_lst": [df_lst["pointing_alt"].mean()],
            "pointing_az_lst": [df_lst["pointing_az"].mean()],
            "pointing_alt_magic": [df_magic["pointing_alt"].mean()],
            "pointing_az_magic": [df_magic["pointing_az"].mean()],
            "average_offset": [average.to_value("us")],
            "n_coincidence": [n_at_average],
            "n_events_magic": [n_events_magic],
        })
        profile = pd.DataFrame(data={
            "time_offset": offsets.to_value("us").round(1),
            f"n_coincidence_tel{coincidence_id}": n_coincidences,
        })
        log.info("%s: average offset %.3f us, %d coincident events",
                 tel_names[tel_id], average.to_value("us"), n_at_average)
        event_data = pd.concat([event_data, df_lst, df_magic])
        features = pd.concat([features, feature])
        profiles = profiles.merge(profile, on="time_offset", how="outer")

    if event_data.empty:
        log.info("No coincident events are found. Exiting...")
        sys.exit(NO_COINCIDENT_EVENTS)
    profiles = profiles.sort_values("time_offset")
    event_data = stereo_events(event_data, tel_combos)

    Path(output_dir).mkdir(exist_ok=True, parents=True)
    output = Path(output_dir) / Path(lst_file).name.replace("LST", "MAGIC_LST")
    save_table(event_data, output, "/events", "parameters", "w")
    save_table(features, output, "/coincidence", "feature", "a")
    save_table(profiles, output, "/coincidence", "profile", "a")
    log.info("Output file: %s", output)


def stereo_events(event_data: pd.DataFrame, tel_combos: dict[str, list[int]]) -> pd.DataFrame:
    """The reference's stereo assembly and ``get_stereo_events``."""
    event_data.sort_index(inplace=True)
    event_data.drop_duplicates(inplace=True)
    group_mean = event_data.groupby(["obs_id_magic", "event_id_magic"]).mean()
    event_data["obs_id"] = group_mean["obs_id_lst"]
    event_data["event_id"] = group_mean["event_id_lst"]
    no_lst = event_data[event_data["obs_id"].isna()].index
    event_data.loc[no_lst, "obs_id"] = no_lst.get_level_values("obs_id_magic")
    event_data.loc[no_lst, "event_id"] = no_lst.get_level_values("event_id_magic")
    event_data.reset_index(inplace=True)
    event_data.set_index(["obs_id", "event_id", "tel_id"], inplace=True)
    event_data.sort_index(inplace=True)

    group = ["obs_id", "event_id"]
    stereo = event_data.copy()
    multimatch = stereo.groupby(group + ["tel_id"]).size() > 1
    if sum(multimatch) > 0:
        if sum(multimatch) > 5:
            log.error("this is too much, exiting")
            sys.exit(11)
        stereo = stereo[~multimatch]
    stereo["multiplicity"] = stereo.groupby(group).size()
    stereo.query("multiplicity > 1", inplace=True)
    for combo_type, tel_ids in enumerate(tel_combos.values()):
        multiplicity = len(tel_ids)
        df = stereo.query(f"(tel_id == {tel_ids}) & (multiplicity == {multiplicity})").copy()
        df["multiplicity"] = df.groupby(group).size()
        df.query(f"multiplicity == {multiplicity}", inplace=True)
        stereo.loc[df.index, "combo_type"] = combo_type
    stereo = stereo.astype({"combo_type": int})
    stereo.reset_index(inplace=True)
    return stereo.astype({"obs_id": int, "event_id": int})


def save_table(df: pd.DataFrame, path: Path, group: str, name: str, mode: str) -> None:
    """Write a frame as a PyTables table through a row-by-row structured array."""
    values = [tuple(row) for row in df.to_numpy()]
    dtype = np.dtype(list(zip(df.dtypes.index, df.dtypes.values, strict=True)))
    with tables.open_file(path, mode=mode) as f:
        f.create_table(group, name, createparents=True, obj=np.array(values, dtype=dtype))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-file-lst", "-l", required=True)
    parser.add_argument("--input-dir-magic", "-m", required=True)
    parser.add_argument("--output-dir", "-o", default="./data")
    parser.add_argument("--config-file", "-c", default="./config.yaml")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with open(args.config_file, "rb") as f:
        config = yaml.safe_load(f)
    event_coincidence(args.input_file_lst, args.input_dir_magic, args.output_dir, config)


if __name__ == "__main__":
    main()
