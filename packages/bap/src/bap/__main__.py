import sys

from bap.cli import main

sys.exit(main())
