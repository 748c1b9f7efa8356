"""Tests of lmcoinc.config."""
