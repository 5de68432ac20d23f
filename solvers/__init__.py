"""The methods under study that use learned priors.

* :mod:`solvers.red_diffeq`: RED-DiffEq (Shan et al. 2025), ``red-diffeq``;
* :mod:`solvers.diffusion_fwi`: diffusion-regularised FWI (Wang, Huang & Alkhalifah 2023), ``diffusion-fwi``;
* :mod:`solvers.windows`: overlapping-window regularisation for fields wider than the prior.
"""
