"""socket-lab grader support.

This package holds the pieces that drive student programs from the outside: named
timeouts (``grader.timeouts``) and the subprocess runner (``grader.process``). The test
suite of the lab kit uses them today to drive the reference client and server; the
``python -m grader`` front end is built on the same pieces.
"""
