"""What every task and solver shares.

The environment base, PDE-solve counters, errors, the solver protocol and registry, seeding, devices,
atomic files and the observed-data cache.
"""
