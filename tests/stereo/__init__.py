"""Tests of lmcoinc.stereo.events."""
