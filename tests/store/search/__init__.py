"""Tests of store.search."""
