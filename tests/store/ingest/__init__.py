"""Tests of store.ingest."""
