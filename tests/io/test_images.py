"""io/images: the image rows of the stereo events, copied from simulated DL1 files with images
(the real writers' tables) as the reference selects them."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import tables
from hypothesis import given, settings
from hypothesis import strategies as st

from lmcoinc.config import load_config
from lmcoinc.errors import InvalidFileError
from lmcoinc.io.hdf5_image import HDF5Image
from lmcoinc.io.images import copy_images, select_rows
from lmcoinc.io.lst import LST_IMAGES_KEY
from lmcoinc.io.magic import MAGIC_IMAGES_KEY
from lmcoinc.simulate import SimulationConfig, simulate

from ..helpers.badinputs import lst_file
from ..helpers.compare import assert_same_array

TEL_IDS = load_config(None).tel_ids


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 3), st.integers(0, 8)), max_size=30),
       st.lists(st.tuples(st.integers(1, 4), st.integers(0, 9)), max_size=15),
       st.booleans())
def test_select_rows_in_row_order(rows, keys, float_keys):
    """Rows whose (obs_id, event_id) is a key, in their order, each once; keys may repeat
    and be floats (the ids of the stereo table)."""
    obs = np.array([o for o, _ in rows], dtype=np.int32)
    event = np.array([e for _, e in rows], dtype=np.int64)
    dtype = pl.Float64 if float_keys else pl.Int64
    frame = pl.DataFrame({"obs_id": [o for o, _ in keys], "event_id": [e for _, e in keys]},
                         schema={"obs_id": dtype, "event_id": dtype})
    want = [i for i, row in enumerate(rows) if row in set(keys)]
    assert select_rows(obs, event, frame).tolist() == want


@pytest.fixture(scope="module")
def with_images(tmp_path_factory):
    """A 0.2 s subrun with the DL1 images of LST-1 and MAGIC (two MAGIC subruns a telescope)."""
    config = SimulationConfig(duration_s=0.2, seed=23, images=True, magic_subrun_s=0.5,
                              magic_start_delay_s=-0.1, magic_extra_s=0.6)
    return simulate(tmp_path_factory.mktemp("images"), config)


def _read(path, key) -> np.ndarray:
    with tables.open_file(str(path)) as handle:
        return handle.get_node(key).read()


def _plan(sim, rng) -> pl.DataFrame:
    """Stereo-table rows: some LST-1 events (tel 1) and some MAGIC images of each telescope."""
    lst = _read(sim.lst_file, LST_IMAGES_KEY)
    magic = np.concatenate([_read(p, MAGIC_IMAGES_KEY) for p in sim.magic_files])
    parts = [pl.DataFrame({
        "tel_id": 1, "obs_id_lst": lst["obs_id"][chosen] * 1.0,
        "event_id_lst": lst["event_id"][chosen] * 1.0, "obs_id_magic": 0, "event_id_magic": 0,
    }) for chosen in [np.sort(rng.choice(len(lst), 40, replace=False))]]
    for tel_id in (2, 3):
        own = np.flatnonzero(magic["tel_id"] == tel_id)
        chosen = rng.choice(own, 25, replace=False)
        parts.append(pl.DataFrame({
            "tel_id": tel_id, "obs_id_lst": None, "event_id_lst": None,
            "obs_id_magic": magic["obs_id"][chosen].astype(np.int64),
            "event_id_magic": magic["event_id"][chosen].astype(np.int64),
        }))
    return pl.concat(parts, how="vertical_relaxed").sample(fraction=1.0, shuffle=True, seed=1)


def _wanted(sim, plan: pl.DataFrame) -> dict[int, tuple[np.ndarray, dict]]:
    """The reference's selection: per telescope, the image rows of its stereo events, in the
    files' order (LST-1: its file; MAGIC: the files in name order, that telescope's rows)."""
    def attrs(path, key):
        with tables.open_file(str(path)) as handle:
            node = handle.get_node(key)
            return {n: node.attrs[n] for n in node.attrs._f_list("user")}

    out = {}
    lst = _read(sim.lst_file, LST_IMAGES_KEY)
    keys = set(plan.filter(pl.col("tel_id") == 1).select("obs_id_lst", "event_id_lst").rows())
    out[1] = (lst[[(o, e) in keys for o, e in zip(lst["obs_id"], lst["event_id"], strict=True)]],
              attrs(sim.lst_file, LST_IMAGES_KEY))
    magic = np.concatenate([_read(p, MAGIC_IMAGES_KEY) for p in sim.magic_files])
    for tel_id in (2, 3):
        keys = set(plan.filter(pl.col("tel_id") == tel_id).select(
            "obs_id_magic", "event_id_magic").rows())
        take = [t == tel_id and (o, e) in keys
                for t, o, e in zip(magic["tel_id"], magic["obs_id"], magic["event_id"],
                                   strict=True)]
        out[tel_id] = (magic[take], attrs(sim.magic_files[0], MAGIC_IMAGES_KEY))
    return out


@pytest.mark.parametrize("into", ["file", "image"])
def test_copy_images_as_the_reference_selects_them(with_images, tmp_path, into):
    plan = _plan(with_images, np.random.default_rng(2))
    out = tmp_path / "out.h5"
    if into == "file":
        copy_images(out, plan, with_images.lst_file, with_images.magic_files, TEL_IDS)
    else:
        with HDF5Image(out) as image:
            copy_images(image, plan, with_images.lst_file, with_images.magic_files, TEL_IDS)
            image.save()
    with tables.open_file(str(out)) as handle:
        assert sorted(n._v_name for n in handle.list_nodes("/events/dl1")) == [
            "image_1", "image_2", "image_3"]
        for tel_id, (rows, attrs) in _wanted(with_images, plan).items():
            node = handle.get_node(f"/events/dl1/image_{tel_id}")
            assert len(rows) == (40 if tel_id == 1 else 25)
            assert_same_array(node.read(), rows)
            assert {n: node.attrs[n] for n in node.attrs._f_list("user")} == attrs != {}
            filters = node.filters
            assert (filters.complib, filters.complevel, filters.fletcher32) == (
                "blosc:zstd", 1, True)


def test_telescopes_without_stereo_events_get_empty_tables(with_images, tmp_path):
    plan = _plan(with_images, np.random.default_rng(3)).filter(pl.col("tel_id") != 3)
    copy_images(tmp_path / "out.h5", plan, with_images.lst_file, with_images.magic_files,
                TEL_IDS)
    with tables.open_file(str(tmp_path / "out.h5")) as handle:
        assert handle.get_node("/events/dl1/image_3").nrows == 0
        assert handle.get_node("/events/dl1/image_2").nrows == 25


def test_an_input_without_images(good, with_images, tmp_path):
    plan = _plan(with_images, np.random.default_rng(4))
    with pytest.raises(InvalidFileError) as err:
        copy_images(tmp_path / "out.h5", plan, lst_file(good), with_images.magic_files, TEL_IDS)
    assert err.value.path == lst_file(good)
    assert err.value.problem == f"no image table {LST_IMAGES_KEY} (needed by save_images)"
    magic = sorted((good / "magic").glob("*.h5"))
    with pytest.raises(InvalidFileError) as err:
        copy_images(tmp_path / "out2.h5", plan, with_images.lst_file, magic, TEL_IDS)
    assert err.value.path == magic[0]
    assert err.value.problem == f"no image table {MAGIC_IMAGES_KEY} (needed by save_images)"
