"""python -m bench: see bench/__init__.py and bench/README.md."""

import sys

from .cli import main

sys.exit(main())
