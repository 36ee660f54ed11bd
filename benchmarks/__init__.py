"""`make bench`: speed and quality figures of each stage, written to BENCHMARKS.md."""
