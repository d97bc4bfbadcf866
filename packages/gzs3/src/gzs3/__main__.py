import sys

from gzs3.cli import main

sys.exit(main())
