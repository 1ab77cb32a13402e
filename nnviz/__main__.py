import sys

from nnviz.cli import main

sys.exit(main())
