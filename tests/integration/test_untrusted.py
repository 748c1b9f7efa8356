"""Input files cannot make lmcoinc run code: no pickled attribute is ever unpickled.

PyTables unpickles attribute values that are pickles when it reads them, so
a DL1 file from a shared disk could run code in whatever opens it with
PyTables. Payloads are planted in every node of the LST-1 and MAGIC files
(root, groups, tables, column attributes, the subarray and image tables);
``lmcoinc run`` (with and without images), ``convert`` and ``batch`` on
them create no marker, give the same results as on the clean files, and
their outputs carry no payload on (opening them with PyTables and ctapipe
runs nothing).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from lmcoinc.config import default_config_text
from lmcoinc.simulate import SimulationConfig, simulate

from ..helpers.compare import hdf5_contents
from ..helpers.payloads import ATTRIBUTE, poisoned_copy

NAME = "dl1_MAGIC_LST-1.Run03265.0040"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Clean and poisoned inputs (``lst/``, ``magic/``), a config with images, the marker."""
    root = tmp_path_factory.mktemp("untrusted")
    files = simulate(root / "sim", SimulationConfig(duration_s=0.4, seed=15, images=True))
    clean = root / "clean"
    (clean / "lst").mkdir(parents=True)
    shutil.copy(files.lst_file, clean / "lst")
    shutil.copytree(files.magic_dir, clean / "magic")
    marker = root / "MARKER"
    places = poisoned_copy(clean, root / "poisoned", marker)
    config = root / "images.yaml"
    config.write_text(default_config_text() + "\nsave_images: true\n")
    return {"clean": clean, "poisoned": root / "poisoned", "marker": marker, "places": places,
            "images": config}


def _lmcoinc(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lmcoinc", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def _lst(directory: Path) -> Path:
    return next((directory / "lst").glob("*.h5"))


def _assert_no_payload_ran(inputs) -> None:
    assert not inputs["marker"].exists(), "a pickled payload was unpickled"


def _open_everything_with_pytables(path: Path) -> None:
    """Read every attribute of every node with PyTables, the subarray and images with ctapipe."""
    import tables
    from ctapipe.instrument import SubarrayDescription
    from ctapipe.io import read_table

    with tables.open_file(str(path)) as handle:
        images = [n._v_pathname for n in handle.walk_nodes("/events", "Table")]
        for node in handle.walk_nodes("/"):
            for name in node._v_attrs._f_list("all"):
                node._v_attrs[name]
    SubarrayDescription.from_hdf(path)
    for key in images:
        read_table(path, key)


def test_the_payload_is_live(inputs, tmp_path):
    """The planted files do run code when PyTables opens them (the test can fail)."""
    import tables

    assert len(inputs["places"]) > 60
    assert any(":CTAFIELD_" in p for p in inputs["places"])
    assert any("/events/dl1/image:" in p for p in inputs["places"])
    marker = inputs["marker"]
    victim = tmp_path / "victim.h5"
    shutil.copy(_lst(inputs["poisoned"]), victim)
    try:
        with tables.open_file(str(victim)) as handle:
            getattr(handle.root._v_attrs, ATTRIBUTE)
        assert marker.exists()
    finally:
        marker.unlink(missing_ok=True)


@pytest.mark.parametrize("images", [False, True], ids=["run", "run_save_images"])
def test_run(inputs, tmp_path, images):
    outputs = {}
    for kind in ("clean", "poisoned"):
        config = ["-c", inputs["images"]] if images else []
        proc = _lmcoinc("run", "-l", _lst(inputs[kind]), "-m", inputs[kind] / "magic",
                        "-o", tmp_path / kind, *config)
        assert proc.returncode == 0, proc.stderr
        _assert_no_payload_ran(inputs)
        outputs[kind] = tmp_path / kind
    poisoned_h5 = outputs["poisoned"] / f"{NAME}.h5"
    assert hdf5_contents(poisoned_h5) == hdf5_contents(outputs["clean"] / f"{NAME}.h5")
    for table in ("events", "feature", "profile"):
        name = f"{NAME}.{table}.parquet"
        assert pl.read_parquet(outputs["poisoned"] / name).equals(
            pl.read_parquet(outputs["clean"] / name))
    _open_everything_with_pytables(poisoned_h5)
    _assert_no_payload_ran(inputs)


def test_convert(inputs, tmp_path):
    for source in (_lst, lambda d: sorted((d / "magic").glob("*.h5"))[0]):
        converted = {}
        for kind in ("clean", "poisoned"):
            converted[kind] = tmp_path / f"{kind}.parquet"
            proc = _lmcoinc("convert", source(inputs[kind]), converted[kind])
            assert proc.returncode == 0, proc.stderr
            _assert_no_payload_ran(inputs)
        assert pl.read_parquet(converted["poisoned"]).equals(pl.read_parquet(converted["clean"]))


def test_batch(inputs, tmp_path):
    """In worker processes, with the MAGIC cache and images."""
    for kind in ("clean", "poisoned"):
        proc = _lmcoinc("batch", "-l", inputs[kind] / "lst", "-m", inputs[kind] / "magic",
                        "-o", tmp_path / kind, "-c", inputs["images"], "-j", "2", "--no-progress")
        assert proc.returncode == 0, proc.stderr
        _assert_no_payload_ran(inputs)
    poisoned_h5 = tmp_path / "poisoned" / f"{NAME}.h5"
    assert hdf5_contents(poisoned_h5) == hdf5_contents(tmp_path / "clean" / f"{NAME}.h5")
    for path in (tmp_path / "clean" / "parquet").rglob("*.parquet"):
        theirs = tmp_path / "poisoned" / path.relative_to(tmp_path / "clean")
        assert pl.read_parquet(theirs).equals(pl.read_parquet(path))
    _open_everything_with_pytables(poisoned_h5)
    _assert_no_payload_ran(inputs)


def test_attributes_keep_plain_values_only(tmp_path, caplog):
    """Every form a payload can take in an attribute read with h5py; what is kept can be
    written with PyTables and read back without running anything."""
    import pickle

    import h5py
    import numpy as np
    import tables

    from lmcoinc.io.hdf5 import attributes

    marker = tmp_path / "MARKER"
    from ..helpers.payloads import Payload

    payload = pickle.dumps(Payload(marker), 0)
    path = tmp_path / "attrs.h5"
    with h5py.File(path, "w") as handle:
        node = handle.create_dataset("t", data=np.zeros(3, dtype=[("a", "f8")]))
        node.attrs["fixed_pickle"] = np.bytes_(payload)
        node.attrs["binary_pickle"] = np.void(pickle.dumps(Payload(marker), 4))
        node.attrs.create("vlen_pickle", payload.decode(), dtype=h5py.string_dtype("ascii"))
        node.attrs["utf8"] = "m"
        utf8 = h5py.string_dtype("utf-8", len(payload))
        node.attrs.create("utf8_pickle", np.bytes_(payload), dtype=utf8)
        node.attrs["ascii"] = np.bytes_(b"deg")
        node.attrs["zero"] = np.bytes_(b"0.")
        node.attrs["number"] = np.float64(28.0)
        node.attrs["array"] = np.arange(3)
        node.attrs["strings"] = np.array([b"a.", b"b."])
        node.attrs["compound"] = np.zeros(1, dtype=[("x", "i4")])[0]
        node.attrs["FIELD_0_FILL"] = np.bytes_(payload)
    with h5py.File(path, "r") as handle:
        found = attributes(handle["t"])
    assert set(found) == {"vlen_pickle", "utf8", "utf8_pickle", "ascii", "zero", "number",
                          "array", "strings"}
    assert isinstance(found["utf8_pickle"], np.str_)
    assert "fixed_pickle of /t ignored (a pickled Python object, not read)" in caplog.text
    assert "compound of /t ignored (not a plain value" in caplog.text
    out = tmp_path / "out.h5"
    with tables.open_file(str(out), "w") as handle:
        table = handle.create_table("/", "t", obj=np.zeros(3, dtype=[("a", "f8")]))
        for name, value in found.items():
            table.attrs[name] = value
    with tables.open_file(str(out)) as handle:
        read = {n: handle.root.t.attrs[n] for n in found}
    assert not marker.exists()
    assert read["ascii"] == b"deg" and read["number"] == 28.0 and read["zero"] == b"0."
    for name in ("vlen_pickle", "utf8_pickle"):  # strings, not objects
        assert read[name] == payload.decode()
