"""The market day: its plan (:mod:`scripts.day.plan`), its clock and schedule
(:mod:`scripts.day.clock`) and the demo engine's stages (``demo_*``); the benchmark's engine
is :mod:`scripts.bench.market_day`."""
