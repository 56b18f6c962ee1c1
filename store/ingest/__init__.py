"""Reading the agents' logs into the store: locating, reading, writing, following, drift; uses the
core."""
