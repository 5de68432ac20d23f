"""priors package."""
