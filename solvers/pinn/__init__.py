"""The physics-informed neural network baseline of LD-DIM (Darcy only)."""
