"""``python -m coven.cockpit``: see ``coven.cockpit.launch``."""

from coven.cockpit.launch import main

raise SystemExit(main())
