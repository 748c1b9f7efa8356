"""``lmcoinc info``: the provenance of an output file, as text or JSON."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from lmcoinc.cli import app
from lmcoinc.io.provenance import lmcoinc_version, read_provenance

NAME = "dl1_MAGIC_LST-1.Run03265.0001"


def test_info_of_an_hdf5_and_a_parquet_output(run_outputs):
    out = run_outputs()
    for path in (out / f"{NAME}.h5", out / f"{NAME}.feature.parquet"):
        shown = CliRunner().invoke(app, ["info", str(path)])
        assert shown.exit_code == 0, shown.output
        lines = shown.output.splitlines()
        assert lines[0] == str(path)
        assert f"made by: lmcoinc {lmcoinc_version()} (output format 2), lmcoinc run" in lines[1]
        assert "polars" in lines[2] and "numpy" in lines[2] and "tables" in lines[2]
        assert "  output: obs_id 3265, subrun 1" in lines
        assert any(line.startswith("    lst    ") and "dl1_LST-1.Run03265.0001.h5" in line
                   and "obs_id 3265 subrun 1" in line for line in lines)
        assert "      window_half_width: 300 ns" in lines
        as_json = CliRunner().invoke(app, ["info", str(path), "--json"])
        assert as_json.exit_code == 0
        assert json.loads(as_json.output) == read_provenance(path)


def test_info_of_a_file_without_provenance(night, tmp_path):
    shown = CliRunner().invoke(app, ["info", str(night.lst_files[0])])
    assert shown.exit_code == 16
    assert shown.output == (f"lmcoinc: error: {night.lst_files[0]}: no lmcoinc provenance "
                            "(not an lmcoinc output, or one made before outputs recorded it)\n")
    missing = CliRunner().invoke(app, ["info", str(tmp_path / "missing.h5")])
    assert missing.exit_code == 16 and "cannot read" in missing.output
