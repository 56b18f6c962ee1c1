"""Tests of store.repair."""
