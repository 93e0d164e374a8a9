"""Market analytics: the day-ahead price forecast with its band and back-test, and consumers'
load patterns, flags and advice priced by the bill engine (docs/analytics.md)."""
