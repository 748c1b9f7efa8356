"""Test helpers: simulated inputs, bad inputs, brute-force definitions, comparisons."""
