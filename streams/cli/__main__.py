"""`python -m streams.cli` runs the `thresholds` command."""

import sys

from streams.cli import main

sys.exit(main())
