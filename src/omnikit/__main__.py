"""`python -m omnikit`: the command line."""

from omnikit._cli import main

raise SystemExit(main())
