"""`weightwise.diagnostics`: summaries, statistics, the training monitor and plots (return data)."""
