from evpipe.cli import main

raise SystemExit(main())
