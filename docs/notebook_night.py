# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A night of LST-1 + MAGIC coincidences, from Python
#
# This notebook simulates a small night (four 2 s LST-1 subruns and the MAGIC
# run that covers them, in the real file formats), finds the coincidences of
# one subrun in memory with `lmcoinc.coincide`, runs the whole night with
# `lmcoinc batch`'s function, and queries the outputs lazily with
# `lmcoinc.scan`: the coincidence fraction per subrun, the offset against
# time, and a selection of stereo events joined with the feature table.
#
# It is a [jupytext](https://jupytext.readthedocs.io) notebook: open it in
# Jupyter with jupytext, or run it as a script (`python
# docs/notebook_night.py`; the tests do). Set `LMCOINC_NOTEBOOK_DIR` to keep
# its files.

# %%
import os
import tempfile
from pathlib import Path

import polars as pl

import lmcoinc
from lmcoinc.batch import run_batch
from lmcoinc.simulate import simulate_night

pl.Config.set_tbl_rows(12)
pl.Config.set_tbl_width_chars(120)
work = Path(os.environ.get("LMCOINC_NOTEBOOK_DIR") or tempfile.mkdtemp(prefix="lmcoinc-"))
# a night of December 2023, whose clock offset in the history is -3.2 us, the simulated one
night = simulate_night(work / "night", n_subruns=4, subrun_s=2.0, seed=11,
                       start_unix_s=1_702_000_000.0)
print([p.name for p in night.lst_files])
print(len(list(night.magic_dir.glob("dl1_*.h5"))), "MAGIC files")

# %% [markdown]
# ## One subrun in memory
#
# `load_config` validates the configuration as `lmcoinc run -c` does (here the
# built-in one, with a key set from Python); `coincide` returns the tables
# that `lmcoinc run` would write, as polars DataFrames.

# %%
config = lmcoinc.load_config(window_half_width="300 ns")
found = lmcoinc.coincide(night.lst_files[0], night.magic_dir, config)
print(found.feature.select("coincidence_id", "average_offset", "n_coincidence",
                           "n_events_magic", "accidental", "effective_time_s"))
print(found.offsets.select("tel_id", "night", "offset_us", "clock_offset_us", "history_us"))
print(found.events.height, "telescope images;", found.events.select("obs_id", "event_id")
      .n_unique(), "stereo events")

# %% [markdown]
# ## The night
#
# `run_batch` is what `lmcoinc batch` runs (here in this process; `jobs=N`
# runs N worker processes). Its Parquet tables are written once, to the
# hive-partitioned dataset `OUT/parquet/<table>/lst_obs_id=…/lst_subrun=…/`.

# %%
out = work / "out"
result = run_batch(night.lst_dir, night.magic_dir, out, config)
print(result.summary.select("obs_id", "subrun", "status", "offset_us_tel2", "offset_us_tel3",
                            "n_coincidence_tel2", "n_coincidence_tel3"))

# %% [markdown]
# ## Coincidence fraction per subrun
#
# Pairs over the MAGIC events in the scanned range, per subrun and MAGIC
# telescope, computed by polars from the feature table without reading
# anything else.

# %%
feature = lmcoinc.scan(out, "feature")
fraction = (
    feature.select(
        "lst_subrun",
        tel=pl.format("fraction_tel{}", pl.col("coincidence_id") - 10),
        fraction=pl.col("n_coincidence") / pl.col("n_events_magic"),
    )
    .collect()
    .pivot("tel", index="lst_subrun", values="fraction")
    .sort("lst_subrun")
)
print(fraction)
assert fraction.height == 4

# %% [markdown]
# ## Offset against time
#
# The average offset (MAGIC − LST-1, µs, as the column's metadata says) and
# the clock offset (the light-travel delay of the pairs removed) of every
# subrun and telescope, in time order.

# %%
offsets = (
    feature.select(
        "lst_subrun",
        time=pl.from_epoch(pl.col("unix_time"), time_unit="s"),
        tel_id=pl.col("coincidence_id") - 10,
        offset_us="average_offset",
        clock_offset_us="clock_offset",
    )
    .sort("time", "tel_id")
    .collect()
)
print(offsets)

# %% [markdown]
# ## Bright stereo events, with their subrun's offset
#
# The stereo events seen by all three telescopes whose LST-1 image is above
# 200 p.e., joined with the MAGIC-I row of the feature table of their subrun.
# `timestamp_ns` is the exact trigger time (int64 ns) beside the float
# seconds of `timestamp`.

# %%
bright = (
    lmcoinc.scan(out, "events")
    .filter((pl.col("multiplicity") == 3) & (pl.col("tel_id") == 1)
            & (pl.col("intensity") > 200))
    .join(
        feature.filter(pl.col("coincidence_id") == 12)
        .select("lst_obs_id", "lst_subrun", "average_offset", "effective_time_s"),
        on=["lst_obs_id", "lst_subrun"],
    )
    .group_by("lst_obs_id", "lst_subrun")
    .agg(
        n_events=pl.len(),
        rate_hz=pl.len() / pl.col("effective_time_s").first(),
        median_intensity=pl.col("intensity").median(),
        first_ns=pl.col("timestamp_ns").min(),
        offset_us=pl.col("average_offset").first(),
    )
    .sort("lst_obs_id", "lst_subrun")
    .collect()
)
print(bright)
assert bright["n_events"].min() > 0

# %% [markdown]
# ## Where the outputs come from
#
# Every output file holds its provenance: lmcoinc's version, the software,
# the full configuration and the input files (`lmcoinc info FILE` prints it).
# The Parquet columns carry their unit and meaning.

# %%
doc = lmcoinc.read_provenance(out / "summary.parquet")
print(doc["lmcoinc_version"], doc["command"], doc["software"]["polars"],
      len(doc["inputs"]), "input files")
import pyarrow.parquet as pq  # noqa: E402

field = pq.read_schema(next((out / "parquet" / "feature").rglob("*.parquet"))).field(
    "average_offset")
print(field.name, field.metadata[b"unit"].decode(), "-", field.metadata[b"description"].decode())
