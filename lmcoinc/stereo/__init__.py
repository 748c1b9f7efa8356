"""Stereo events: the pairs of every MAGIC telescope grouped into showers, and the output tables.

:mod:`.columns` keeps the parameters common to LST-1 and MAGIC, :mod:`.events`
groups the images into stereo events (multi-matches, multiplicity, combo
types), :mod:`.tables` builds the events, feature and profile tables of a subrun.
"""

from .tables import build_tables

__all__ = ["build_tables"]
