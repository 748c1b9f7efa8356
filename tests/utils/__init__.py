"""Tests of lmcoinc.utils."""
