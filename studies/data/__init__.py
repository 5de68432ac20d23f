"""Studies of the velocity-map generators against real OpenFWI maps."""
