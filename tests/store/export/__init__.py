"""Tests of store.export."""
