"""A classroom server on its own event loop in a background thread, for synchronous code.

The grader, the tests and the notebooks are not asyncio programs: they start a server,
talk to it through real sockets from their own thread, and stop it::

    with serve_in_thread(HubServer(port=0)) as srv:
        sock = socket.create_connection(('127.0.0.1', srv.port))

Every callback of the server still runs on that loop's one thread (see ``core``); a caller
that wants to look at the server's state asks that thread through ``ServerThread.call``.
"""
import asyncio
import concurrent.futures
import threading

from .core import CLOSE_TIMEOUT

__all__ = ['ServerThread', 'serve_in_thread', 'THREAD_TIMEOUT']

#: How long ServerThread waits for a server to start or to stop.
THREAD_TIMEOUT = 5.0


class ServerThread:
    """Runs a server on its own event loop in a daemon thread, for synchronous code.

    Use it as a context manager (``serve_in_thread`` starts it)::

        with serve_in_thread(HubServer(port=0)) as srv:
            sock = socket.create_connection(('127.0.0.1', srv.port))
            ...
        # here every client connection and the listening socket are closed

    ``start()`` raises what the server's ``start()`` raised (OSError for a busy port).
    """

    def __init__(self, server, timeout=THREAD_TIMEOUT):
        self.server = server
        self.timeout = timeout
        self._loop = None
        self._stop_requested = None    # asyncio.Event, created on the server's loop
        self._ready = threading.Event()
        self._start_error = None
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='%s thread' % server.NAME)

    @property
    def host(self):
        return self.server.host

    @property
    def port(self):
        return self.server.port

    def start(self):
        self._thread.start()
        if not self._ready.wait(self.timeout):
            raise RuntimeError('%s did not start within %.1f s' % (self.server.NAME, self.timeout))
        if self._start_error is not None:
            self._thread.join(self.timeout)
            raise self._start_error
        return self

    def stop(self):
        """Close every connection and the listening socket, then end the thread."""
        if self._loop is None or not self._thread.is_alive():
            return
        self._loop.call_soon_threadsafe(self._stop_requested.set)
        self._thread.join(self.timeout + CLOSE_TIMEOUT)
        if self._thread.is_alive():
            raise RuntimeError('%s did not stop within %.1f s'
                               % (self.server.NAME, self.timeout + CLOSE_TIMEOUT))

    def call(self, func, *args):
        """Run ``func(*args)`` on the server's thread and return its result (or raise its error)."""
        result = concurrent.futures.Future()

        def run():
            try:
                result.set_result(func(*args))
            except BaseException as error:  # handed over to the caller, who re-raises it
                result.set_exception(error)

        self._loop.call_soon_threadsafe(run)
        return result.result(self.timeout)

    def run(self, coroutine_function, *args):
        """Run ``coroutine_function(*args)`` on the server's loop (e.g. a web view's
        ``start``); return its result (or raise its error) within ``timeout``."""
        future = asyncio.run_coroutine_threadsafe(coroutine_function(*args), self._loop)
        return future.result(self.timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def _run(self):
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.close()

    async def _serve(self):
        self._loop = asyncio.get_running_loop()
        self._stop_requested = asyncio.Event()
        try:
            await self.server.start()
        except BaseException as error:  # re-raised in the caller's thread by start()
            self._start_error = error
            return
        finally:
            self._ready.set()
        try:
            await self._stop_requested.wait()
        finally:
            await self.server.close()


def serve_in_thread(server, timeout=THREAD_TIMEOUT):
    """Start ``server`` in a background thread; returns the running ServerThread."""
    return ServerThread(server, timeout).start()
