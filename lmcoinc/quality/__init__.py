"""The quality of a coincidence, from its results: time overlap, accidentals, live time, offsets.

:mod:`.checks` stops a subrun whose LST-1 and MAGIC data do not overlap where
the offset is searched; :mod:`.diagnostics` adds the feature columns of
expected accidental pairs and effective time (:mod:`.livetime`);
:mod:`.found_offsets` compares the offsets of an output with the history.
"""
