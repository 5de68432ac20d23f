"""Convolutional variational autoencoders of parameter fields (diffusers' ``AutoencoderKL``).

The latent spaces that latent-diffusion inversion (LD-DIM) and the physics-embedded VAE baseline optimise
in: :mod:`.presets` (architectures and training settings), :mod:`.model` (the frozen autoencoder a solver
uses), :mod:`.checkpoint` (its weights) and :mod:`.train` (training on the shared loop).
"""

from invbench.nn.autoencoder.checkpoint import load_autoencoder, write_autoencoder
from invbench.nn.autoencoder.model import FieldAutoencoder

__all__ = ["FieldAutoencoder", "load_autoencoder", "write_autoencoder"]
