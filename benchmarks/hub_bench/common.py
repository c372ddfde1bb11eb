"""What every part of the benchmark shares: the loopback address, the bound on any loop, and
the way out on a fatal error."""

import sys

LOOPBACK = '127.0.0.1'

#: Hard cap on turns of any event loop here (each turn is bounded by a deadline too).
MAX_TURNS = 100 * 1000 * 1000


def fail(message, status=2):
    sys.stderr.write('hub_bench: %s\n' % message)
    sys.exit(status)
