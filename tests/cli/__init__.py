"""Tests of lmcoinc.cli."""
