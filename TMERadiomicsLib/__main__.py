"""``python -m TMERadiomicsLib`` runs the CLI."""

import sys

from .interrupt import exit_on_signal

# Until ``main`` sets up its guard, a signal ends the process with one line and exit 130.
exit_on_signal()

from .cli import main  # noqa: E402 - after the signal handlers, on purpose

sys.exit(main())
