import sys

from hvpr.cli import main

sys.exit(main())
