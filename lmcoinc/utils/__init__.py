"""Helpers of every stage that know nothing of coincidences: signals, memory, stage timer."""
