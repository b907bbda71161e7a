"""``python -m mixedmodels``: the command line (see :mod:`mixedmodels.cli`)."""

import sys

from mixedmodels.cli import main

if __name__ == "__main__":
    sys.exit(main())
