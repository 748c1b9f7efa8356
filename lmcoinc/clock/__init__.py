"""The clock offset between LST-1 and MAGIC: pure functions on int64 ns timestamps.

:mod:`.scan` finds one offset (the reference's pre-offset search, scan and
weighted average); :mod:`.drift` finds an offset that drifts
(:class:`~.curve.OffsetCurve`); :mod:`.geometry` gives the light-travel delay
between the telescopes. Nothing here reads files or the configuration.
"""
