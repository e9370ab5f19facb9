"""`weightwise.diagnostics`: summaries, statistics, the training monitor and plots (return data).

Nothing here prints: every function returns data (dataclasses, dicts, lists) and the renderings
(`str()`, `_repr_html_`, figures) are separate. The command line (`weightwise inspect | diff |
convert | demo`) is the only place that prints.

- `summary(model, input_size=None, input_data=None)` -> `Summary` (rows, tie-aware totals, memory)
- `stats(model_or_state_dict_or_path, grads=False)` -> list of `TensorStats`; `tensor_stats(t)`
- `TrainingMonitor(model, optimizer=None, every=10, path=None)`: per-layer records, JSON Lines, flags
- `plots` (needs matplotlib): `plot_norms`, `plot_histograms`, `write_report`, `load_records`
- `inspect_file(path)`, `diff_files(a, b)`: what the command line reports about files, as dicts
"""

from . import plots
from .files_report import diff_files, inspect_file
from .monitor import TrainingMonitor
from .stats import TensorStats, stats, tensor_stats
from .summary import LayerRow, Summary, summary

__all__ = [
    "summary", "Summary", "LayerRow", "stats", "tensor_stats", "TensorStats", "TrainingMonitor",
    "plots", "inspect_file", "diff_files",
]
