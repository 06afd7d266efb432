"""`python -m alooba_cli`, the same as `alooba-gh`."""

import sys

from alooba_cli.main import main

sys.exit(main())
