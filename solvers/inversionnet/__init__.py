"""InversionNet (Wu & Lin 2019; OpenFWI's release): amortized, data-driven FWI trained on simulated pairs."""
