"""`python -m cli` runs the `estatedesk` command."""

from cli.main import main

raise SystemExit(main())
