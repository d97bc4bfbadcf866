import sys

from mnad.cli import main

sys.exit(main())
