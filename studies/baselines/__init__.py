"""Baseline tables over tasks x instances."""
