import sys

from reid_relation.cli import main

sys.exit(main())
