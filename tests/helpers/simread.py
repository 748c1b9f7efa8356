"""Simulated data for the simulator tests: tables drawn, files read back, exact times, true
pairs."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import numpy as np
import polars as pl
import tables

from lmcoinc.simulate import SimulationConfig
from lmcoinc.simulate.events import EventStream, simulate_events

#: The small simulated subrun that several simulator tests read (fixture ``small_run``).
SMALL = SimulationConfig(duration_s=2.0, magic_subrun_s=1.5, seed=7)

T = TypeVar("T")

LST_KEY = "/dl1/event/telescope/parameters/LST_LSTCam"
LST_IMAGE_KEY = "/dl1/event/telescope/image/LST_LSTCam"
MAGIC_KEY = "/events/parameters"
MAGIC_IMAGE_KEY = "/events/dl1/image"


def read(path: Path, key: str) -> np.ndarray:
    """A whole table."""
    with tables.open_file(path) as f:
        return f.get_node(key).read()


def lst_ns(dragon_time: np.ndarray) -> np.ndarray:
    """LST timestamps in ns exactly as the reference converts them."""
    return np.array([int(Decimal(str(x)) * 10**9) for x in dragon_time], dtype=np.int64)


def magic_rows(files: list[Path], tel: str) -> np.ndarray:
    """The rows of one telescope (``"M1"``, ``"M2"``) over its subrun files."""
    parts = [read(p, MAGIC_KEY) for p in files if p.name.startswith(f"dl1_{tel}.")]
    return np.concatenate(parts)


def pair_times(pairs: pl.DataFrame, lst_files: list[Path], magic_files: list[Path]) -> pl.DataFrame:
    """The true pairs with the timestamps of both rows as written (``t_lst``, ``t_magic``, ns).

    Fails if a pair's row is missing from the files.
    """
    lst = [read(p, LST_KEY) for p in lst_files]
    lst_times = pl.DataFrame({
        "obs_id_lst": np.concatenate([t["obs_id"] for t in lst]),
        "event_id_lst": np.concatenate([t["event_id"] for t in lst]),
        "dragon_time": np.concatenate([t["dragon_time"] for t in lst]),
    }).filter(pl.len().over("obs_id_lst", "event_id_lst") == 1)  # fmt: skip
    magic = [read(p, MAGIC_KEY) for p in magic_files if "/events/parameters" in _nodes(p)]
    magic_times = pl.DataFrame({
        "tel_id": np.concatenate([t["tel_id"] for t in magic]),
        "obs_id_magic": np.concatenate([t["obs_id"] for t in magic]).astype(np.int64),
        "event_id_magic": np.concatenate([t["event_id"] for t in magic]),
        "t_magic": np.concatenate([t["time_sec"] * 10**9 + t["time_nanosec"] for t in magic]),
    })  # fmt: skip
    out = pairs.join(lst_times, on=["obs_id_lst", "event_id_lst"], how="left").join(
        magic_times, on=["tel_id", "obs_id_magic", "event_id_magic"], how="left"
    )
    assert out["dragon_time"].null_count() == 0 and out["t_magic"].null_count() == 0
    assert out.height == pairs.height
    return out.with_columns(t_lst=pl.Series(lst_ns(out["dragon_time"].to_numpy())))


def _nodes(path: Path) -> set[str]:
    with tables.open_file(path) as f:
        return {node._v_pathname for node in f.walk_nodes("/", "Table")}


def drawn(config: SimulationConfig, columns: Callable[..., T]) -> tuple[EventStream, T]:
    """The trigger stream of ``config`` and ``columns(stream, config, rng)`` (a table's
    contents, e.g. :func:`lmcoinc.simulate.lst.lst_columns`), drawn as the simulator does."""
    rng = np.random.default_rng(config.seed)
    stream = simulate_events(config, rng)
    return stream, columns(stream, config, rng)
