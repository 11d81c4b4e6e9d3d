"""``python -m safe_alfred.cli``: the same as the ``safe-alfred`` console script."""

import sys

from safe_alfred.cli import main

sys.exit(main())
