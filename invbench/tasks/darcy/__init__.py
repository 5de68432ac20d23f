"""Darcy flow: the environment, sensor layouts, metrics and figure."""
