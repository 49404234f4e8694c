"""One module per engine; each is run in its own process by `benchmarks/enforcement/run.py`."""
