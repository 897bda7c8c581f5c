"""`python -m handdigit` is the `handdigit` command."""

import sys

from handdigit.cli import main

sys.exit(main())
