"""Tests of lmcoinc.pairing.anchored."""
