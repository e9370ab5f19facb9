"""``python -m weightwise``: the command line (see :mod:`weightwise.cli`)."""

import sys

from .cli import main

sys.exit(main())
