"""Diffusion-regularised FWI (Wang, Huang & Alkhalifah 2023); it uses RED-DiffEq's shipped priors."""
