"""Every deadline the harness and the tests use, in one place.

Nothing here is a sleep: each value bounds a *wait for an event* (bytes on a socket, a line
on stdout, a process exit). A well-behaved program meets them in milliseconds; the values
are generous so that a loaded 2-core CI machine never turns a correct program into a
failure. Raise them here, never inline.
"""

#: Waiting for something that should happen almost at once (a prompt, an echo on loopback).
SHORT = 5.0

#: What a check of the grader gives a student's program to do something it should do at
#: once (print a line it received, relay a message, connect). A correct program takes
#: milliseconds, even two to a core in a batch; a broken one costs this much per wait, and
#: a class has many of those.
CHECK = 3.0

#: Waiting for a process to exit after it was told to (``q`` typed, peer gone).
#: The lab's acceptance bar is "exits within 2 s"; tests assert against EXIT_BAR and
#: only use this longer value to avoid hanging when the bar is missed.
EXIT = 5.0
EXIT_BAR = 2.0

#: Waiting for a chat room to relay one short message (a probe while clients join). A
#: room that never relays fails every hub check, so this bounds what that costs.
RELAY = 1.0

#: Waiting for a student's Python to start at all, before its start deadline (CHECK) counts:
#: on a laptop an antivirus scan of python.exe, a cold disk or a file still coming from
#: OneDrive can take seconds. A program that is slow because of its own code is not helped:
#: its deadline counts from the moment its code starts (grader/_launch_env.py).
LAUNCH = 30.0

#: One attempt to connect to a student's server that has not yet been seen to listen. On
#: Windows a connect to a port nobody listens on is not refused at once: the system retries
#: the SYN for about 2 s first, and a server that started listening meanwhile would wait out
#: the rest. Short attempts, made again until the start deadline, cost a refusal at most
#: this much. (On Linux and macOS a refusal is immediate and this never runs out.)
CONNECT_ATTEMPT = 0.25

#: Waiting for a bulk exchange to finish (many clients, many messages).
LONG = 30.0

#: Timeout on individual socket operations of scripted peers, so a stuck peer never blocks.
SOCKET = 5.0

#: How long a check waits to be sure something does *not* arrive (a message relayed back
#: to its sender, say). A wait for absence can only end by time; it follows a positive
#: event (another client received the same message) so the absent bytes had every chance.
ABSENCE = 0.15
