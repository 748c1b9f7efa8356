"""Bad inputs for the error tests, made for real from simulated files in the real formats.

Each builder takes a directory holding a good simulated input (``lst/`` with
one LST-1 file, ``magic/`` with the MAGIC files) and a fresh work directory,
copies what it needs, damages it, and returns the :class:`Run` arguments.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lmcoinc.config import default_config_text
from lmcoinc.io.lst import LST_PARAMETERS_KEY
from lmcoinc.io.magic import MAGIC_PARAMETERS_KEY
from lmcoinc.simulate import SimulationConfig, simulate

LAYOUT_KEY = "/configuration/instrument/subarray/layout"

#: the LST and MAGIC filters of the real files
LST_FILTERS = {"complevel": 1, "complib": "blosc:zstd", "shuffle": True, "fletcher32": True}
MAGIC_FILTERS = {"complevel": 5, "complib": "blosc:zstd", "shuffle": True, "fletcher32": True}


@dataclass
class Run:
    """Arguments of ``lmcoinc run``."""

    lst: Path
    magic: Path
    out: Path
    config: Path | None = None
    extra: list[str] = field(default_factory=list)

    def argv(self) -> list[str]:
        args = ["run", "-l", str(self.lst), "-m", str(self.magic), "-o", str(self.out)]
        if self.config is not None:
            args += ["-c", str(self.config)]
        return args + self.extra


def make_good(directory: Path, duration_s: float = 1.0, seed: int = 0,
              images: bool = False) -> Path:
    """Simulate a short good input into ``directory`` (``lst/`` and ``magic/``)."""
    files = simulate(directory / "sim",
                     SimulationConfig(duration_s=duration_s, seed=seed, images=images))
    (directory / "lst").mkdir()
    shutil.move(files.lst_file, directory / "lst" / files.lst_file.name)
    shutil.move(files.magic_dir, directory / "magic")
    shutil.rmtree(directory / "sim")
    return directory


def lst_file(good: Path) -> Path:
    return next((good / "lst").glob("*.h5"))


def copy_good(good: Path, work: Path) -> Run:
    """A copy of the good input in ``work``, output directory ``work/out``."""
    shutil.copytree(good / "lst", work / "lst")
    shutil.copytree(good / "magic", work / "magic")
    return Run(lst_file(work), work / "magic", work / "out")


def run_cli(run: Run, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m lmcoinc run ...`` in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "lmcoinc", *run.argv()],
        capture_output=True, text=True, timeout=timeout, check=False,
    )


# --- ways to damage a file ---------------------------------------------------


def truncate(path: Path, fraction: float = 0.5) -> None:
    """Cut a file to a fraction of its size."""
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.truncate(int(size * fraction))


def flip_chunk_bytes(path: Path, key: str, chunk: int = 0, n: int = 16) -> None:
    """Invert ``n`` bytes in the middle of a stored (compressed) chunk of a dataset.

    The chunk's fletcher32 checksum then fails when it is read.
    """
    import h5py

    with h5py.File(path, "r") as handle:
        info = handle[key].id.get_chunk_info(chunk)
    where = info.byte_offset + info.size // 2
    with open(path, "r+b") as handle:
        handle.seek(where)
        data = bytearray(handle.read(n))
        handle.seek(where)
        handle.write(bytes(b ^ 0xFF for b in data))


def modify_column(path: Path, key: str, column: str, change: Callable[[np.ndarray], None]) -> None:
    """Change a column of a table in place (``change`` edits the array)."""
    import tables

    with tables.open_file(str(path), mode="r+") as handle:
        table = handle.get_node(key)
        values = table.col(column)
        change(values)
        table.modify_column(colname=column, column=values)


def drop_column(path: Path, key: str, column: str, filters: dict) -> None:
    """Rewrite a table without one column, with the given filters and the same title."""
    import tables

    with tables.open_file(str(path), mode="r+") as handle:
        table = handle.get_node(key)
        data, title = table.read(), table.title
        where, name = table._v_parent, table._v_name
        table.remove()
        names = [n for n in data.dtype.names if n != column]
        kept = np.empty(len(data), dtype=[(n, data.dtype[n]) for n in names])
        for n in names:
            kept[n] = data[n]
        handle.create_table(where, name, obj=kept, title=title, filters=tables.Filters(**filters))


def remove_node(path: Path, key: str) -> None:
    import tables

    with tables.open_file(str(path), mode="r+") as handle:
        handle.remove_node(key, recursive=True)


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def config_with(work: Path, old: str, new: str) -> Path:
    """The default config with one text replacement."""
    text = default_config_text()
    assert old in text, old
    return write_config(work / "config.yaml", text.replace(old, new))


# --- the bad inputs ----------------------------------------------------------
# Each builder gets (good, work) and returns the Run and a text that the
# one-line error message must contain (a file name or a config key).


def _lst_missing(good, work):
    run = copy_good(good, work)
    run.lst = work / "lst" / "dl1_LST-1.Run09999.0001.h5"
    return run, run.lst.name


def _lst_not_hdf5(good, work):
    run = copy_good(good, work)
    run.lst.write_text("obs_id,event_id\n1,2\n")
    return run, run.lst.name


def _lst_empty(good, work):
    run = copy_good(good, work)
    run.lst.write_bytes(b"")
    return run, run.lst.name


def _lst_truncated(good, work):
    run = copy_good(good, work)
    truncate(run.lst)
    return run, run.lst.name


def _lst_checksum(good, work):
    run = copy_good(good, work)
    flip_chunk_bytes(run.lst, LST_PARAMETERS_KEY, chunk=3)
    return run, run.lst.name


def _lst_is_magic(good, work):
    run = copy_good(good, work)
    magic = sorted(run.magic.glob("*.h5"))[0]
    run.lst = work / "lst" / magic.name
    shutil.copy(magic, run.lst)
    return run, run.lst.name


def _lst_no_column(good, work):
    run = copy_good(good, work)
    drop_column(run.lst, LST_PARAMETERS_KEY, "dragon_time", LST_FILTERS)
    return run, run.lst.name


def _lst_all_nan(good, work):
    run = copy_good(good, work)
    modify_column(run.lst, LST_PARAMETERS_KEY, "dragon_time", lambda t: t.fill(np.nan))
    return run, run.lst.name


def _lst_all_zero(good, work):
    run = copy_good(good, work)
    modify_column(run.lst, LST_PARAMETERS_KEY, "dragon_time", lambda t: t.fill(0.0))
    return run, run.lst.name


def _magic_missing(good, work):
    run = copy_good(good, work)
    run.magic = work / "no_such_magic_dir"
    return run, run.magic.name


def _magic_empty(good, work):
    run = copy_good(good, work)
    run.magic = work / "empty"
    run.magic.mkdir()
    return run, run.magic.name


def _magic_second(run: Run) -> Path:
    return sorted(run.magic.glob("*.h5"))[1]


def _magic_checksum(good, work):
    run = copy_good(good, work)
    bad = _magic_second(run)
    flip_chunk_bytes(bad, MAGIC_PARAMETERS_KEY, chunk=1)
    return run, bad.name


def _magic_subarray_checksum(good, work):
    run = copy_good(good, work)
    bad = _magic_second(run)
    flip_chunk_bytes(bad, "/configuration/instrument/telescope/camera/geometry_1")
    return run, bad.name


def _magic_truncated(good, work):
    run = copy_good(good, work)
    bad = _magic_second(run)
    truncate(bad, 0.7)
    return run, bad.name


def _magic_not_hdf5(good, work):
    run = copy_good(good, work)
    bad = run.magic / "dl1_M1.Run05093711.002.h5"
    bad.write_bytes(b"\x00" * 100)
    return run, bad.name


def _magic_subarray(good, work):
    run = copy_good(good, work)
    bad = _magic_second(run)

    def move(x):
        x[1] += 10.0

    modify_column(bad, LAYOUT_KEY, "pos_x", move)
    return run, bad.name


def _magic_no_column(good, work):
    run = copy_good(good, work)
    bad = _magic_second(run)
    drop_column(bad, MAGIC_PARAMETERS_KEY, "time_nanosec", MAGIC_FILTERS)
    return run, bad.name


def _magic_other_columns(good, work):
    run = copy_good(good, work)
    bad = _magic_second(run)
    drop_column(bad, MAGIC_PARAMETERS_KEY, "length", MAGIC_FILTERS)
    return run, f"{bad.name}: columns differ from those of"


def _magic_all_zero(good, work):
    run = copy_good(good, work)
    bad = _magic_second(run)
    modify_column(bad, MAGIC_PARAMETERS_KEY, "time_sec", lambda t: t.fill(0))
    return run, bad.name


def _no_overlap(good, work):
    run = copy_good(good, work)
    for path in run.magic.glob("*.h5"):
        modify_column(path, MAGIC_PARAMETERS_KEY, "time_sec", lambda t: t.__iadd__(3600))
    return run, "no time overlap"


def _config_missing(good, work):
    run = copy_good(good, work)
    run.config = work / "no_such_config.yaml"
    return run, run.config.name


def _config_not_yaml(good, work):
    run = copy_good(good, work)
    run.config = write_config(work / "config.yaml", "mc_tel_ids: {LST-1: 1\nevent_coincidence: [\n")
    return run, "config.yaml"


def _config_edit(old: str, new: str, key: str):
    """A case builder: the default config with one text replacement, naming ``key``."""

    def build(good, work):
        run = copy_good(good, work)
        run.config = config_with(work, old, new)
        return run, key

    return build


_WINDOW = "event_coincidence.window_half_width"
_CONFIG_EDITS = {
    "config_missing_key": ('    window_half_width: "300 ns"\n', "", _WINDOW),
    "config_unknown_timestamp_type": (
        '"dragon_time"  #', '"gps_time"  #', "event_coincidence.timestamp_type_lst"
    ),
    "config_wrong_unit": ('"300 ns"', '"300 parsec"', _WINDOW),
    "config_no_unit": ('"300 ns"', '"300"', _WINDOW),
    "config_window_zero": ('"300 ns"', '"0 ns"', _WINDOW),
    "config_window_negative": ('"300 ns"', '"-300 ns"', _WINDOW),
    "config_five_telescopes": ("    LST-4: 0\n", "", "mc_tel_ids"),
    "config_history_file_missing": (
        "    n_pre_offset_search_events: 100\n",
        "    n_pre_offset_search_events: 100\n    offset_history: {file: no_such_offsets.yaml}\n",
        "event_coincidence.offset_history.file",
    ),
    "config_unknown_offset_model": (
        '    window_half_width: "300 ns"\n',
        '    window_half_width: "300 ns"\n    offset_model: linear\n',
        "event_coincidence.offset_model",
    ),
}


def _config_magic_first(good, work):
    run = copy_good(good, work)
    text = default_config_text()
    block = "    MAGIC-I: 2\n    MAGIC-II: 3\n"
    text = text.replace(block, "").replace("mc_tel_ids:\n", "mc_tel_ids:\n" + block)
    run.config = write_config(work / "config.yaml", text)
    return run, "mc_tel_ids"


def _output_parent_is_file(good, work):
    run = copy_good(good, work)
    (work / "a_file").write_text("")
    run.out = work / "a_file" / "out"
    return run, "a_file/out"


def _output_is_file(good, work):
    run = copy_good(good, work)
    run.out = work / "out"
    run.out.write_text("")
    return run, "out"


#: name → (builder, exit code); the builder returns the Run and a text that
#: the one-line error message must contain (the file name or config key).
CASES: dict[str, tuple[Callable[[Path, Path], tuple[Run, str]], int]] = {
    "lst_missing": (_lst_missing, 13),
    "lst_not_hdf5": (_lst_not_hdf5, 13),
    "lst_empty_file": (_lst_empty, 13),
    "lst_truncated": (_lst_truncated, 13),
    "lst_checksum": (_lst_checksum, 13),
    "lst_is_magic_file": (_lst_is_magic, 13),
    "lst_no_timestamp_column": (_lst_no_column, 13),
    "lst_all_timestamps_nan": (_lst_all_nan, 13),
    "lst_all_timestamps_zero": (_lst_all_zero, 13),
    "magic_dir_missing": (_magic_missing, 14),
    "magic_dir_empty": (_magic_empty, 14),
    "magic_file_checksum": (_magic_checksum, 14),
    "magic_subarray_checksum": (_magic_subarray_checksum, 14),
    "magic_file_truncated": (_magic_truncated, 14),
    "magic_file_not_hdf5": (_magic_not_hdf5, 14),
    "magic_subarray_differs": (_magic_subarray, 14),
    "magic_no_time_nanosec": (_magic_no_column, 14),
    "magic_columns_differ": (_magic_other_columns, 14),
    "magic_all_time_sec_zero": (_magic_all_zero, 14),
    "no_time_overlap": (_no_overlap, 3),
    "config_missing": (_config_missing, 12),
    "config_not_yaml": (_config_not_yaml, 12),
    **{name: (_config_edit(*edit), 12) for name, edit in _CONFIG_EDITS.items()},
    "config_magic_before_lst": (_config_magic_first, 12),
    "output_parent_is_file": (_output_parent_is_file, 15),
    "output_dir_is_file": (_output_is_file, 15),
}


# --- inputs with some bad timestamps: warnings, not errors --------------------


def _shower_rows(path: Path) -> np.ndarray:
    import tables

    with tables.open_file(str(path)) as handle:
        return np.flatnonzero(handle.get_node(LST_PARAMETERS_KEY).col("event_type") == 32)


def _set_lst_times(run: Path, rows: np.ndarray, value: float) -> None:
    def change(t):
        t[rows] = value

    modify_column(run, LST_PARAMETERS_KEY, "dragon_time", change)


def _lst_some_nan(good, work):
    run = copy_good(good, work)
    _set_lst_times(run.lst, _shower_rows(run.lst)[[5, 50, 500, 1000, 2000]], np.nan)
    return run, r": 5 of \d+ shower events have an invalid dragon_time .*; dropped"


def _lst_some_zero(good, work):
    run = copy_good(good, work)  # the first and the last shower events among them
    _set_lst_times(run.lst, _shower_rows(run.lst)[[0, 10, 100, 1000, -1]], 0.0)
    return run, r": 5 of \d+ shower events have an invalid dragon_time .*; dropped"


def _lst_backwards(good, work):
    run = copy_good(good, work)
    rows = _shower_rows(run.lst)[[100, 200]]

    def swap(t):
        t[rows] = t[rows[::-1]]

    modify_column(run.lst, LST_PARAMETERS_KEY, "dragon_time", swap)
    return run, r": dragon_time goes backwards at [12] events .*; events kept"


def _magic_some_zero(good, work):
    run = copy_good(good, work)
    first = sorted(run.magic.glob("*.h5"))[0]

    def change(t):
        t[[0, 10, 20]] = 0

    modify_column(first, MAGIC_PARAMETERS_KEY, "time_sec", change)
    return run, rf"{re.escape(first.name)}: 3 of \d+ events have an invalid time .*; dropped"


#: name → builder returning the Run and a regular expression of the expected warning;
#: the run succeeds (exit code 0) and finds the offsets of the good input.
WARNING_CASES: dict[str, Callable[[Path, Path], tuple[Run, str]]] = {
    "lst_some_timestamps_nan": _lst_some_nan,
    "lst_some_timestamps_zero": _lst_some_zero,
    "lst_timestamps_backwards": _lst_backwards,
    "magic_some_time_sec_zero": _magic_some_zero,
}
