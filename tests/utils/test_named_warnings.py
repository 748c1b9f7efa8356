"""named_warnings: the warnings of one piece of work named after it and collected, those of
other threads left alone."""

from __future__ import annotations

import logging
import threading
import warnings

from lmcoinc.utils.named_warnings import named_warnings

NAME = "dl1_LST-1.Run03265.0001.h5"


def test_warnings_named_and_collected(caplog):
    log = logging.getLogger("lmcoinc.pairing.anchored")
    with caplog.at_level(logging.INFO, logger=log.name), named_warnings(NAME) as collected:
        log.info("not a warning")
        log.warning("MAGIC-I: clock offset %.3f us is far\nfrom the history's", -3.291)
        log.warning("%s: no usable SubarrayDescription", f"/data/{NAME}")
        warnings.warn("numpy says so", RuntimeWarning, stacklevel=1)
    assert collected[:2] == [
        f"{NAME}: MAGIC-I: clock offset -3.291 us is far from the history's",
        f"/data/{NAME}: no usable SubarrayDescription",  # named already: not twice
    ]
    assert collected[2].startswith(f"{NAME}: RuntimeWarning: numpy says so (")
    assert len(collected) == 3
    # the log says them as collected (named); the INFO line is untouched
    assert [r.getMessage() for r in caplog.records] == ["not a warning", *collected]


def test_outside_the_block_and_other_threads_untouched(caplog):
    log = logging.getLogger("lmcoinc.batch")
    other_thread = threading.Thread(target=lambda: log.warning("from another task"))
    with caplog.at_level(logging.WARNING), named_warnings(NAME) as collected:
        other_thread.start()
        other_thread.join()
    log.warning("after the block")
    assert collected == []
    assert [r.getMessage() for r in caplog.records] == ["from another task", "after the block"]
    assert not any(isinstance(h, logging.Handler) and type(h).__name__ == "_Naming"
                   for h in logging.getLogger("lmcoinc").handlers)
    with warnings.catch_warnings(record=True) as caught:  # Python's warnings as before
        warnings.simplefilter("always")
        warnings.warn("plain", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["plain"]
