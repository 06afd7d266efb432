"""`python -m alooba_dev.bench`."""

from alooba_dev.bench.runner import main

raise SystemExit(main())
