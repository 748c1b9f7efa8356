"""Tests of lmcoinc.pairing."""
