"""`make bench`: throughput, latency, bulk email drain and memory of the real services.

Run with `python -m alooba_dev.bench` (or `alooba-bench` once the console script exists);
bench/README.md explains how to read what it prints and writes.
"""
