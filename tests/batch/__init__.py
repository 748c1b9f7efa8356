"""Tests of lmcoinc.batch."""
