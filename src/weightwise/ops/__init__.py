"""Differentiable ops by family: elementwise, activation, reduce, movement, linalg."""
