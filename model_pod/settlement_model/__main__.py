import sys

from settlement_model.cli import main

sys.exit(main())
