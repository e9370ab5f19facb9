"""`weightwise.utils.data`: datasets and loaders."""
