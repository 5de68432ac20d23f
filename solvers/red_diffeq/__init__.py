"""RED-DiffEq (Shan et al. 2025).

The solver (:mod:`.solver`), windowed regularisation for wide fields (:mod:`.windows`), and the
shipped lite diffusion priors (``weights/``, trained by ``train_lite_priors.sh``).
"""
