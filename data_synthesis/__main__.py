"""`python -m data_synthesis ...` (see cli.py)."""

import sys

from data_synthesis.cli import main

sys.exit(main())
