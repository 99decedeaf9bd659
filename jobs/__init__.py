"""Scheduled work: the worker process and the jobs it runs."""
