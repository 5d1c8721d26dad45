"""``python -m deeplake_mcp``."""

import sys

from deeplake_mcp.cli import main

sys.exit(main())
