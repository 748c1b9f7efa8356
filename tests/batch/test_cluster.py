"""The clusters a batch starts: the job scripts dask-jobqueue writes for a config (no batch
system is needed to write them) and the scaling to the subruns."""

from __future__ import annotations

import shlex
from dataclasses import replace

import pytest
import yaml

from lmcoinc.batch.cluster import DEATH_TIMEOUT_S, adapt_cluster, make_cluster
from lmcoinc.config import ClusterSettings, default_config_text, parse_config

pytest.importorskip("dask_jobqueue")

#: The La Palma recipe of docs/cluster.md: one worker per job, 2 GB, the venv on the
#: shared file system.
LA_PALMA = """
cluster:
    type: slurm
    queue: short
    account: aswg
    memory: 2GB
    walltime: "02:00:00"
    max_workers: 40
    venv: /fefs/aswg/workspace/me/venv
    job_extra_directives: ["--output=/fefs/aswg/workspace/me/logs/dask-worker-%j.log"]
"""


def _settings(text: str = LA_PALMA) -> ClusterSettings:
    return parse_config(yaml.safe_load(default_config_text() + text), "cfg.yaml").cluster


def _job_script(settings: ClusterSettings) -> list[str]:
    cluster = make_cluster(settings)
    try:
        return cluster.job_script().splitlines()
    finally:
        cluster.close()


def _worker_command(lines: list[str]) -> list[str]:
    (command,) = [line for line in lines if "distributed.cli.dask_worker" in line]
    return shlex.split(command)


def test_slurm_job_script():
    lines = _job_script(_settings())
    directives = [line for line in lines if line.startswith("#SBATCH")]
    assert directives == [
        "#SBATCH -J lmcoinc-worker", "#SBATCH -p short", "#SBATCH -A aswg", "#SBATCH -n 1",
        "#SBATCH --cpus-per-task=1", "#SBATCH --mem=2G", "#SBATCH -t 02:00:00",
        "#SBATCH --output=/fefs/aswg/workspace/me/logs/dask-worker-%j.log"]
    assert "source /fefs/aswg/workspace/me/venv/bin/activate" in lines
    command = _worker_command(lines)
    assert command[:3] == ["/fefs/aswg/workspace/me/venv/bin/python", "-m",
                           "distributed.cli.dask_worker"]
    options = dict(zip(command[4::1], command[5::1], strict=False))
    assert options["--nthreads"] == "1"  # HDF5 is not thread-safe
    assert options["--death-timeout"] == str(DEATH_TIMEOUT_S)
    assert "--nworkers" not in command  # one worker per job
    assert "--nanny" in command


def test_slurm_job_of_several_workers():
    """``cores`` single-threaded workers per job, ``memory`` each."""
    lines = _job_script(replace(_settings(), cores=4, memory="1500MB"))
    assert "#SBATCH --cpus-per-task=4" in lines
    assert "#SBATCH --mem=6G" in lines
    command = _worker_command(lines)
    assert command[command.index("--nworkers") + 1] == "4"
    assert command[command.index("--nthreads") + 1] == "1"


def test_pbs_and_htcondor_job_scripts():
    pbs = _job_script(_settings("cluster: {type: pbs, queue: long, walltime: '10:00:00', "
                                "job_extra_directives: ['-m abe']}\n"))
    assert "#PBS -q long" in pbs and "#PBS -l walltime=10:00:00" in pbs and "#PBS -m abe" in pbs
    assert _worker_command(pbs)[_worker_command(pbs).index("--nthreads") + 1] == "1"
    condor = _job_script(_settings("cluster: {type: htcondor, memory: 3GB, disk: 5GB, "
                                   "job_extra_directives: ['+JobFlavour = \"workday\"']}\n"))
    text = "\n".join(condor)
    assert "MY.DaskWorkerMemory = 3000000000" in condor
    assert "MY.DaskWorkerDisk = 5000000000" in condor
    assert '+JobFlavour = "workday"' in text


class _Adaptive:
    def adapt(self, **kwargs: int) -> None:
        self.kwargs = kwargs


@pytest.mark.parametrize(("max_workers", "n_tasks", "expected"),
                         [(40, 3, 3), (40, 2160, 40), (1, 5, 1), (5, 0, 1)])
def test_workers_scale_to_the_subruns(max_workers, n_tasks, expected):
    cluster = _Adaptive()
    adapt_cluster(cluster, ClusterSettings(max_workers=max_workers), n_tasks)
    assert cluster.kwargs == {"minimum": 0, "maximum": expected}
