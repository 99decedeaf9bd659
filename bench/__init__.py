"""Benchmarks of Missive (`make bench`): figures beside baselines measured in the same run."""
