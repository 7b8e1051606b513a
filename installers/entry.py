"""PyInstaller's entry point: the bundled `raison-garder` executable is the same command as the
console script `raison-garder` (tray with no arguments, CLI subcommands otherwise)."""

import sys

from tray_app.cli import main

if __name__ == "__main__":
    sys.exit(main())
