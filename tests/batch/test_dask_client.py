"""Dask execution: a task the batch cancels while it runs stops at its next safe point (no
signal reaches a worker's thread); the choice of executor."""

from __future__ import annotations

import threading
from contextlib import nullcontext
from pathlib import Path

import pytest

from lmcoinc.batch import dask_client
from lmcoinc.batch.dask_client import Dask, dask_workers, run_task_on_dask
from lmcoinc.batch.task import SubrunTask
from lmcoinc.config import ClusterSettings, load_config
from lmcoinc.utils.signals import raise_if_interrupted

distributed = pytest.importorskip("distributed")


def test_cancelled_task_stops_at_its_safe_point(monkeypatch, tmp_path):
    started, stopped = threading.Event(), threading.Event()

    def subrun(task: SubrunTask) -> dict:  # the pipeline, up to its commit
        started.set()
        for _ in range(6000):
            raise_if_interrupted()  # what the atomic commit of the outputs asks
            threading.Event().wait(0.01)
        return {"status": "ok"}

    def stopping(task: SubrunTask) -> dict:
        try:
            return subrun(task)
        except KeyboardInterrupt:
            stopped.set()
            raise

    monkeypatch.setattr(dask_client, "run_task_in_worker", stopping)
    task = SubrunTask(index=0, lst_file=tmp_path / "dl1_LST-1.Run03265.0000.h5", obs_id=3265,
                      subrun=0, output_dir=tmp_path, config=load_config(None), fingerprint="f")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        key = "lmcoinc-test-cancel"
        future = client.submit(run_task_on_dask, task, key, key=key, pure=False)
        assert started.wait(60)
        assert not stopped.is_set()
        client.cancel([future], force=True)
        assert stopped.wait(60)


def test_a_task_left_alone_runs_to_its_end(monkeypatch, tmp_path):
    monkeypatch.setattr(dask_client, "run_task_in_worker",
                        lambda task: (raise_if_interrupted(), {"status": "ok"})[1])
    task = SubrunTask(index=0, lst_file=tmp_path / "x.h5", obs_id=1, subrun=0,
                      output_dir=tmp_path, config=load_config(None), fingerprint="f")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        key = "lmcoinc-test-alone"
        assert client.submit(run_task_on_dask, task, key, key=key).result() == {"status": "ok"}


def test_choice_of_executor(tmp_path: Path):
    assert isinstance(dask_workers(None, None, [tmp_path]), nullcontext)
    assert isinstance(dask_workers("tcp://h:1", None, [tmp_path]), Dask)
    assert isinstance(dask_workers(None, ClusterSettings(type="local"), [tmp_path]), Dask)
    with pytest.raises(ValueError, match="either"):
        Dask("tcp://h:1", ClusterSettings(), [tmp_path])
