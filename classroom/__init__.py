"""The classroom servers: what the instructor runs for a class, and what the grader talks to.

    python -m classroom.echo_server     # port 10000: answers each message with 收到: <message>
    python -m classroom.hub_server      # port 10001: the chat room

Modules:
    echo_server   ``EchoServer``: answers every chunk to its sender.
    hub_server    ``HubServer``: relays every chunk to every other client.
    core          ``InstructorServer`` and ``ClientConnection``: the asyncio server both
                  are made of (registry, limits, decoding, logging, writing).
    turns         the hub's turn planning, pure: which writes one turn of the event loop
                  makes, in what order, and who is dropped (no sockets, no asyncio).
    sanitize      pure: a client's text made safe for the others' terminals (controls
                  shown as visible escapes) and framed (every line starts with the
                  sender's prefix; a message TCP cut keeps one).
    admission     pure: who may take a place (allow/deny networks, the cap per address).
    web_view      the projected view of the room (``--web PORT``): aiohttp, the ``web``
                  extra, imported only when asked for; ``web_page`` holds its page.
    thread        ``ServerThread`` / ``serve_in_thread``: a server on its own event loop
                  in a background thread, for synchronous callers (the grader, the tests,
                  the notebooks).
    cli           the command line both servers share.

Rules of this package:
    1. Standard library only: it ships to students with the grader, and an instructor runs
       it on any classroom machine with a plain Python 3.9+. The one exception is
       ``web_view``, which needs aiohttp and is imported only by ``--web``.
    2. It never imports ``grader`` (the grader is built on the servers, not the other way
       round) nor ``reference`` (the secret solutions never leave the instructor's copy;
       the bundles ship this package whole). ``tests/test_layout.py`` checks both.
"""
