import sys

from ewgs.cli import main

sys.exit(main())
