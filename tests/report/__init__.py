"""Tests of lmcoinc.report."""
