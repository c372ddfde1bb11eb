"""socket-lab grader support.

This package holds the pieces that drive student programs from the outside: named
timeouts (``grader.timeouts``), the child-process runner (``grader.process``) and scripted
socket peers with transcripts (``grader.peers``). The lab kit's test suite uses them to
drive the reference client and server; the grader's checks are to be built on them too.
"""
