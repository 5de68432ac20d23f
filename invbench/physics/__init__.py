"""PDE solvers, one folder per physics: ``wave/`` (acoustic wave equation) and ``darcy/`` (steady Darcy flow).

Importing this package is cheap; each physics loads its numerical back end when first used.
"""
