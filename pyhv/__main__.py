from pyhv.cli import main

raise SystemExit(main())
