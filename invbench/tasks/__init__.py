"""Tasks, one folder per family.

``fwi/`` (acoustic full waveform inversion) and ``darcy/`` (steady Darcy flow) each hold their
environment, instance set-up, metrics and figure; task ids are registered in :mod:`invbench.registry`.
"""
