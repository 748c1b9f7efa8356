"""utils/memory: glibc's malloc_trim(0) once the free heap reaches TRIM_BYTES, nothing otherwise."""

from __future__ import annotations

import ctypes.util
import platform
from types import SimpleNamespace

import pytest

from lmcoinc.utils import memory
from lmcoinc.utils.memory import TRIM_BYTES, release_free_memory


@pytest.fixture
def no_cache():
    """The libc lookup made afresh in the test, and again after it."""
    memory._libc.cache_clear()
    yield
    memory._libc.cache_clear()


def _fake_libc(monkeypatch, free_bytes):
    calls = []
    info = (lambda: SimpleNamespace(fordblks=free_bytes)) if free_bytes is not None else None
    monkeypatch.setattr(memory, "_libc", lambda: (calls.append, info))
    return calls


def test_trims_with_zero_padding_when_enough_is_free(monkeypatch):
    calls = _fake_libc(monkeypatch, TRIM_BYTES)
    assert release_free_memory() is None
    assert calls == [0]


def test_keeps_a_small_free_heap(monkeypatch):
    calls = _fake_libc(monkeypatch, TRIM_BYTES - 1)
    release_free_memory()
    assert calls == []


def test_without_mallinfo2_always_trims(monkeypatch):
    calls = _fake_libc(monkeypatch, None)
    release_free_memory()
    assert calls == [0]


def test_without_glibc_does_nothing(monkeypatch, no_cache):
    monkeypatch.setattr(memory.ctypes.util, "find_library", lambda name: None)
    assert memory._libc() == (None, None)
    release_free_memory()


def test_a_libc_without_malloc_trim(monkeypatch, no_cache):
    class Musl:
        def __getattr__(self, name):
            raise AttributeError(name)

    monkeypatch.setattr(memory.ctypes, "CDLL", lambda name: Musl())
    assert memory._libc() == (None, None)
    release_free_memory()


def test_an_unloadable_libc(monkeypatch, no_cache):
    def fail(name):
        raise OSError(name)

    monkeypatch.setattr(memory.ctypes, "CDLL", fail)
    assert memory._libc() == (None, None)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_glibc_malloc_trim_is_found_and_runs(no_cache):
    trim, info = memory._libc()
    assert trim is not None and trim.__name__ == "malloc_trim"
    assert ctypes.util.find_library("c") is not None
    buffers = [bytearray(64 * 1024) for _ in range(200)]  # freed blocks to give back
    del buffers
    if info is not None:
        assert info().fordblks >= 0
    assert trim(0) in (0, 1)  # 1: memory was released
    release_free_memory()
