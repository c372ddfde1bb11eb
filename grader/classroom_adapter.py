"""An instructor server (echo or hub) running in the grader's process, observed.

The grader's echo and hub peers run the classroom servers' own code (the ``classroom``
package), so what a student meets in the grader is what they meet in class. This adapter
adds what a check needs to know and no byte on the wire says: who joined and left, and
what the server read from whom.
"""

import collections
import threading
import time

from classroom.thread import serve_in_thread

from . import timeouts
from .peers import LOOPBACK, TRANSCRIPT_WORDS, trimmed


class ClassroomServer:
    """An instructor server (echo or hub) on 127.0.0.1:0 in this process, observed.

    The grader's echo and hub peers run the instructor servers' own code, so what a student
    meets in the grader is what they meet in class.
    """

    def __init__(self, server_class):
        self._changed = threading.Condition()
        self.joined = []        # (ip, port) of each client that joined, in order
        self.left = []          # (ip, port) of each client that left, in order
        self.read = {}          # (ip, port) -> bytes read from that client
        observer = self

        class Observed(server_class):
            def on_join(self, client):
                super().on_join(client)
                with observer._changed:
                    observer.joined.append(tuple(client.addr))
                    observer._changed.notify_all()

            def on_leave(self, client, reason):
                super().on_leave(client, reason)
                with observer._changed:
                    observer.left.append(tuple(client.addr))
                    observer._changed.notify_all()

        self.log = []
        self.events = collections.deque(maxlen=200)  # (time, addr, "recv"|"sent", bytes)
        self.kind = server_class.NAME
        self.thread = serve_in_thread(Observed(
            host=LOOPBACK, port=0, log=self.log.append, recorder=self._record))
        self.port = self.thread.port

    def _record(self, timestamp, addr, direction, data):
        self.events.append((timestamp, tuple(addr), "recv" if direction == "recv" else "sent",
                            bytes(data[:200])))
        if direction == "recv":
            with self._changed:
                key = tuple(addr)
                self.read[key] = self.read.get(key, b"") + data
                self._changed.notify_all()

    def _wait(self, condition, timeout):
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def wait_joined(self, count=1, timeout=timeouts.CHECK):
        return self._wait(lambda: len(self.joined) >= count, timeout)

    def wait_read(self, text, timeout=timeouts.CHECK):
        """True once ``text`` (as UTF-8) arrived from some client."""
        needle = text.encode("utf-8")
        return self._wait(lambda: any(needle in data for data in self.read.values()), timeout)

    def read_from(self, address):
        return self.read.get(tuple(address), b"")

    def describe(self, zero=None, entries=12, lang="en"):
        """The server's log and its last events; times are seconds since ``zero``."""
        events = list(self.events)[-entries:]
        start = zero if zero is not None else events[0][0] if events else 0.0
        words = TRANSCRIPT_WORDS["zh" if lang == "zh" else "en"]
        head = ("%s (%s:%d) 的日志:" if lang == "zh" else "%s on %s:%d; log:")
        lines = [head % (self.kind, LOOPBACK, self.port)]
        lines += ["  " + line for line in self.log[-6:]]
        lines += ["  %+8.3fs %s %s %s" % (stamp - start, address, words[direction],
                                          trimmed(data, 120))
                  for stamp, address, direction, data in events]
        return "\n".join(lines)

    def stop(self):
        self.thread.stop()
