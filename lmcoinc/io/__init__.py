"""Readers and writers: LST-1 and MAGIC DL1 files, the subarrays, the outputs (HDF5, Parquet,
provenance); exact int64 ns timestamps. No coincidence logic: the stages above call them."""
