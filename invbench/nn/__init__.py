"""Learned parts shared by methods.

One weights format for any torch module (:mod:`.weights`), field normalisations (:mod:`.normalize`),
training-data sources (:mod:`.sources`), resumable training state (:mod:`.train_state`) and the
diffusion models (:mod:`.diffusion`). A method's own networks live in its folder under ``solvers/``;
what two methods share lives here.
"""
