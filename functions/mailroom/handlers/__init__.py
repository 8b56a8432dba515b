"""Thin Lambda entry points: parse the event, call the use case, report. Nothing else."""
