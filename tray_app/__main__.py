"""`python -m tray_app` is the same as the `raison-garder` command."""

import sys

from tray_app.cli import main

sys.exit(main())
