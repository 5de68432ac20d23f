"""Studies of InversionNet and its training pairs."""
