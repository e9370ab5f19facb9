"""`weightwise.optim`: optimizers and learning-rate schedulers."""
