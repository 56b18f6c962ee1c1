"""The demo corpus: seeded agent log files in the agents' real layouts; uses nothing of the
store."""
