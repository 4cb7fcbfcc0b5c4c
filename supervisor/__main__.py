"""``python -m supervisor`` is the same program as the ``supervisor`` console script, and makes the
same check that ``supervisor`` is this package (see graph_supervisor)."""

from graph_supervisor import main

raise SystemExit(main())
