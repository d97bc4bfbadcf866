import sys

from isgan.cli import main

sys.exit(main())
