"""``python -m supervisor`` is the same program as the ``supervisor`` console script."""

from supervisor.cli import main

raise SystemExit(main())
