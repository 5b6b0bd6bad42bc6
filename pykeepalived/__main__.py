"""``python -m pykeepalived`` runs the daemon's command line."""

from pykeepalived.cli import main

raise SystemExit(main())
