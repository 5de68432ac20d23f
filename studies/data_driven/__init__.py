"""Studies of the data-driven (amortized) FWI methods."""
