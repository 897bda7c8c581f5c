"""`python -m handdigit` is the `handdigit` command."""

import sys

from handdigit.cli import main

if __name__ == "__main__":
    sys.exit(main())
