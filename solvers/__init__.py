"""The methods under study, one package per method (solver, networks, training entry, shipped weights).

* :mod:`solvers.red_diffeq`: RED-DiffEq (Shan et al. 2025), ``red-diffeq``;
* :mod:`solvers.diffusion_fwi`: diffusion-regularised FWI (Wang, Huang & Alkhalifah 2023),
  ``diffusion-fwi``.
"""
