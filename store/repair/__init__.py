"""Checks, findings, the pure planner, and the jobs that apply a plan; uses the core and ingest."""
