"""The Darcy bimaterial study: phase errors of each solver."""
