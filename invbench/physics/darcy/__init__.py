"""Steady Darcy flow.

Finite volumes (:mod:`.fv`), sparse and block-tridiagonal solves (:mod:`.sparse`, :mod:`.blocktri`)
and the adjoint gradient (:mod:`.solver`).
"""
