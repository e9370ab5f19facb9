#!/usr/bin/env bash
# The project's test command (the README's second line calls it): lint, type check, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m ruff check src tests benchmarks examples
python -m mypy
python -m pytest -q -p no:cacheprovider "$@"
