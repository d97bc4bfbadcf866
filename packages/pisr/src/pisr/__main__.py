import sys

from pisr.cli import main

sys.exit(main())
