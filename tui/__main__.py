"""`python -m tui` runs the `convo` command line."""

from tui.cli.main import main

raise SystemExit(main())
