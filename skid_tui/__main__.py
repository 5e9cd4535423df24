from skid_tui.cli import main

raise SystemExit(main())
