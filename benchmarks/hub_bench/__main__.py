"""``python -m benchmarks.hub_bench [options]``: the benchmark's entry point (``cli.main``)."""

import sys

from .cli import main

if __name__ == '__main__':
    sys.exit(main())
