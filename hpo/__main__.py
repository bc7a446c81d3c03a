"""``python -m hpo``: the command line."""

import sys

from hpo.cli import main

if __name__ == "__main__":
    sys.exit(main())
