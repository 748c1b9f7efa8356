"""The ``cluster:`` section: validated like every key (exit code 12), no part of the
computation (a subrun's fingerprint does not change with it)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lmcoinc.batch.records import file_stat, fingerprint, inputs_digest
from lmcoinc.cli import app
from lmcoinc.config import ClusterSettings, default_config_text, load_config, parse_config
from lmcoinc.errors import ConfigError, exit_code

SECTION = """
cluster:
    type: slurm
    queue: short
    account: aswg
    cores: 2
    memory: 3GB
    walltime: 02:30:00
    max_workers: 40
    venv: /fefs/aswg/workspace/me/venv
    job_extra_directives: ["--output=dask-worker-%j.log", "--exclude=node05"]
    job_script_prologue: ["module load hdf5"]
    interface: ib0
"""


def _config(text: str = SECTION):
    return parse_config(yaml.safe_load(default_config_text() + text), "cfg.yaml")


def test_section_read():
    cluster = _config().cluster
    assert cluster == ClusterSettings(
        type="slurm", queue="short", account="aswg", cores=2, memory="3GB",
        walltime="02:30:00",  # YAML read the unquoted time as 9000 seconds
        max_workers=40, venv="/fefs/aswg/workspace/me/venv",
        job_extra_directives=("--output=dask-worker-%j.log", "--exclude=node05"),
        job_script_prologue=("module load hdf5",), interface="ib0")
    assert _config("").cluster is None
    assert _config("cluster: {type: local}\n").cluster == ClusterSettings(type="local")


def test_section_changes_no_fingerprint(night):
    """The cluster runs the same computation: the outputs of a batch without the section
    are complete for a batch with it."""
    plain, with_cluster = _config(""), _config()
    assert plain == with_cluster
    magic = [file_stat(p) for p in night.magic_files]
    inputs = inputs_digest(plain, night.lst_files[0], magic)
    assert inputs == inputs_digest(with_cluster, night.lst_files[0], magic)
    assert inputs != inputs_digest(replace(plain, window_half_width_ns=400), night.lst_files[0],
                                   magic)  # a setting of the computation does change it
    assert fingerprint(inputs) == fingerprint(inputs_digest(with_cluster, night.lst_files[0],
                                                            magic))


@pytest.mark.parametrize(("text", "problem"), [
    ("cluster: slurm\n", "cluster must be a mapping"),
    ("cluster: {type: sge}\n", "cluster.type = 'sge' is unknown; use one of local, slurm"),
    ("cluster: {queues: short}\n", "unknown key(s) cluster.queues (known: type, queue,"),
    ("cluster: {cores: 0}\n", "cluster.cores must be a positive integer, got 0"),
    ("cluster: {max_workers: true}\n", "cluster.max_workers must be a positive integer"),
    ("cluster: {memory: lots}\n", "cluster.memory = 'lots' is not valid (e.g. 2GB)"),
    ("cluster: {memory: 2}\n", "cluster.memory must be a text, got 2"),
    ("cluster: {walltime: two hours}\n", "cluster.walltime = 'two hours' is not valid"),
    ("cluster: {job_extra_directives: --exclusive}\n",
     "cluster.job_extra_directives must be a list of texts"),
    ("cluster: {venv: ''}\n", "cluster.venv must be a text"),
])
def test_invalid_section(text, problem):
    with pytest.raises(ConfigError) as info:
        _config(text)
    assert exit_code(info.value) == 12
    assert str(info.value).startswith(f"cfg.yaml: {problem}"), str(info.value)


def test_invalid_section_from_the_command_line(night, tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text(default_config_text() + "cluster: {type: sge}\n")
    proc = CliRunner().invoke(app, ["batch", "-l", str(night.lst_dir), "-m",
                                    str(night.magic_dir), "-o", str(tmp_path / "out"),
                                    "-c", str(config)])
    assert proc.exit_code == 12
    assert proc.output.strip().splitlines()[-1] == (
        f"lmcoinc: error: {config}: cluster.type = 'sge' is unknown; use one of local, slurm, "
        "pbs, htcondor")
    assert load_config(None).cluster is None
