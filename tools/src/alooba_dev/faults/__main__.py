"""`python -m alooba_dev.faults`."""

from alooba_dev.faults.runner import main

raise SystemExit(main())
