"""The RED-DiffEq robustness study: suite tables, the robustness figure and the prior diagnosis."""
