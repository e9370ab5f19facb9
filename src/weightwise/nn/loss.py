"""Loss modules (owned by the training module)."""

__all__: list[str] = []
