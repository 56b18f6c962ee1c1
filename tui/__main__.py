"""`python -m tui` runs the `convo` command line."""

from tui.cli import main

raise SystemExit(main())
