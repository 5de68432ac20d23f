"""WaveDiffusion (Wang et al., ICML 2025): joint seismic-velocity latent diffusion for FWI (VQ + LDM)."""
