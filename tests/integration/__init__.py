"""End-to-end runs of the commands on simulated files in the real formats."""
