"""Tests of lmcoinc.io."""
