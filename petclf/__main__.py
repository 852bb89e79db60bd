import sys

from petclf.cli import main

sys.exit(main())
