"""Tests of lmcoinc.simulate."""
