"""Run the command-line interface: ``python -m dbsnap``."""

from dbsnap.cli import main

raise SystemExit(main())
