"""``python -m comboplan``: the command line (same as the ``comboplan`` console script)."""
from .cli import main

raise SystemExit(main())
