"""LD-DIM (Lin & He 2025) and its physics-embedded VAE baseline: inversion in a learned latent space."""
