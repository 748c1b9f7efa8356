"""Tests of lmcoinc.quality."""
