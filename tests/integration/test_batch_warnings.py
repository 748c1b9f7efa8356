"""The warnings of a batch's subruns: each names its subrun, those of worker processes reach
the batch's log, and the summary's ``warnings`` column keeps them per subrun."""

from __future__ import annotations

import logging

import pytest

from lmcoinc.batch import run_batch

#: The night is simulated at -3.2 us, ~3 us from the history's offset for its date.
FAR = "from the history's"


@pytest.mark.parametrize("jobs", [1, 2])
def test_warnings_named_logged_once_and_kept(night, tmp_path, caplog, jobs):
    with caplog.at_level(logging.WARNING, logger="lmcoinc"):
        result = run_batch(night.lst_dir, night.magic_dir, tmp_path, jobs=jobs, night=False)
    assert result.exit_code == 0
    logged = [r.getMessage() for r in caplog.records if FAR in r.getMessage()]
    kept = [w for ws in result.summary["warnings"].to_list() for w in ws]
    assert sorted(logged) == sorted(kept)  # each once, as kept
    for row in result.summary.iter_rows(named=True):
        mine = [w for w in row["warnings"] if FAR in w]
        assert [w.split(": ")[:2] for w in mine] == [[row["lst_file"], "MAGIC-I"],
                                                     [row["lst_file"], "MAGIC-II"]]
    again = run_batch(night.lst_dir, night.magic_dir, tmp_path, jobs=jobs, night=False)
    assert again.summary["status"].to_list() == ["skipped"] * 3
    assert again.summary["warnings"].equals(result.summary["warnings"])  # from the records
