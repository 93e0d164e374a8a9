"""``make bench``: throughput, latency, gas, oracle ingestion, gateway queries and the jibei
market day, each measured against its own fresh anvil and reported as ratios of one run.

Run ``python -m scripts.bench.run [--quick] [--out bench/results.json]``; see docs/bench.md.
"""
