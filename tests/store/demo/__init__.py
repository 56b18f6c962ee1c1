"""Tests of store.demo."""
