"""Steps that many checks share, each a wait with a deadline that fails with a Finding.

They judge by the wire first (bytes delivered, end of stream seen, process alive or
ended) and by stdout second (the message text present), never by the exact wording of
free text. Every ``expected`` and ``got`` is written in both languages (``say``), so the
report reads in one.
"""

from . import timeouts
from .findings import fail, say
from .lab import FLOOD_CHARS
from .matching import misread_as
from .peers import drain, trimmed
from .process import WaitTimeout

#: Lines a check types or sends after the first: one holds the letter q inside words,
#: which is not a quit (only a line that is exactly q is).
MORE_LINES = ("a quick question: 你在吗?", "third line #3, 再见")


def connected_client(lab, server):
    """The student's client, connected to the classroom ``server``."""
    client = lab.start_client(server.port)
    lab.client_joined(client, server)
    return client


def client_with_peer(lab):
    """The student's client connected to a bare listening peer the check scripts by hand."""
    listener = lab.listener()
    client = lab.start_client(listener.port)
    return client, lab.client_accepted(client, listener)


def peer_gets(peer, text, zh, en, hints, timeout=timeouts.CHECK, typed=False):
    """Wait until ``peer`` has received ``text``; otherwise fail with what it did get.
    ``typed``: the text was typed on the student's program, so arriving as UTF-8 misread
    as GBK means its keyboard input is decoded so (stdin-not-utf8)."""
    try:
        peer.wait_for(text, timeout=timeout)
    except WaitTimeout:
        got = trimmed(peer.received)
        hints, details = typed_line_hints(text, peer.received, hints) if typed else (hints, None)
        fail(zh, en, expected=say("%s 收到 %r" % (peer.name, text),
                                  "%s receives %r" % (peer.name, text)),
             got=say("%s 收到了 %s%s" % (peer.name, got, ", 然后连接被关闭了" if peer.eof else ""),
                     "%s received %s%s" % (peer.name, got, " and then the connection was closed"
                                           if peer.eof else "")),
             hints=hints, details=details)


def typed_line_hints(line, received, hints):
    """``(hints, details)`` for a typed ``line`` that did not arrive: what arrived
    (``received``, bytes) holding its UTF-8 misread as GBK says the program decodes its
    keyboard so (stdin-not-utf8); otherwise the check's own ``hints``."""
    misread = misread_as(line, received)
    if misread:
        return ["stdin-not-utf8"], {"stdin-not-utf8": misread}
    return hints, None


def peer_sees_end(peer, zh, en, hints, timeout=timeouts.EXIT_BAR):
    """Wait until the other side closes ``peer``'s connection; otherwise fail."""
    try:
        peer.wait_for_eof(timeout=timeout)
    except WaitTimeout:
        fail(zh, en, expected=say("%s 看到连接被关闭" % peer.name,
                                  "%s sees the connection closed" % peer.name),
             got=say("%.0f 秒后连接仍然打开着" % timeout, "still open after %.0f s" % timeout),
             hints=hints)


def printed(program, text, zh, en, hints, timeout=timeouts.CHECK, since=0):
    """Wait until ``text`` (str or regex) appears on the student's stdout (after position
    ``since``); otherwise fail."""
    if not program.wait_output(text, timeout, since=since):
        shown = getattr(text, "pattern", text)
        tail = trimmed(program.stdout[-600:], 300)
        fail(zh, en, expected=say("stdout 上出现 %r" % (shown,), "stdout shows %r" % (shown,)),
             got=say("stdout 的结尾是 %s" % tail, "stdout ends with %s" % tail), hints=hints)


def said(program, pattern, zh, en, hints, timeout=timeouts.CHECK, since=(0, 0)):
    """``printed``, where the text may also be on stderr (outside a traceback): for the
    notices a server prints to its console, which the user reads whichever stream they
    are on (``print(..., file=sys.stderr)``, ``logging``). ``since``: ``(output_mark(),
    error_mark())``."""
    if not program.wait_said(pattern, timeout, since=since):
        shown = getattr(pattern, "pattern", pattern)
        tail = trimmed(program.stdout[-600:], 300)
        fail(zh, en, expected=say("控制台上出现 %r" % (shown,), "the console shows %r" % (shown,)),
             got=say("stdout 的结尾是 %s" % tail, "stdout ends with %s" % tail), hints=hints)


def flooding(program, since):
    """True if the program was stopped for a flood, or printed more than a flood's worth
    since output size ``since``."""
    return program.flooded or program.output_size() - since > FLOOD_CHARS


def ends(program, zh, en, hints=("no-exit",), timeout=timeouts.EXIT_BAR, since=None, waited=0.0,
         chat_over_in=None):
    """Wait until the student's program has ended; otherwise fail (it would hang).

    ``since`` is the output size before the event that should end the program: a program
    that printed a flood's worth after it is still printing in a loop, so the empty-recv
    hint goes first. This is judged after the wait, when the flood has had time to show.
    ``waited``: seconds the caller already waited for the exit (the report says the sum).
    ``chat_over_in``: the lab, when the check has seen the program's own side of the chat
    end (it reported the end, or closed the connection): a program still alive with every
    thread blocked then waits in its send thread's input(), the course framework's plain
    thread, and the hint says so where the source shows one (plain-send-thread).
    """
    status = program.wait_exit(timeout)
    timeout += waited
    looping = program.flooded if since is None else flooding(program, since)
    if looping:
        hints = ["empty-recv"] + [hint for hint in hints if hint != "empty-recv"]
    elif status is None and chat_over_in is not None:
        chat_over_in.settle(program)
        if getattr(program, "settles", False):
            hints = ["plain-send-thread"] + list(hints)
    if status is None:
        fail(zh, en, expected=say("程序在 %.0f 秒内结束" % timeout,
                                  "the program ends within %.0f s" % timeout),
             got=say("%.0f 秒后仍在运行%s" % (timeout, ", 而且在不停地打印" if looping else ""),
                     "still running after %.0f s%s" % (
                         timeout, " and printing in a loop" if looping else "")), hints=hints)
    if program.flooded:
        fail(zh, en, expected=say("程序自己结束", "the program ends by itself"),
             got=say("它不停地打印, 直到评分程序把它停下 (刷屏)",
                     "it printed in a loop until the grader stopped it (a flood)"), hints=hints)


def no_flood(program, since, zh, en):
    """Fail if the program printed more than a flood's worth since output size ``since``."""
    if flooding(program, since):
        grown = program.output_size() - since
        amount = "%s%d" % ("> " if program.flooded else "", grown)
        fail(zh, en, expected=say("几行输出", "a few lines of output"),
             got=say("%s 个字符的输出%s" % (amount, " (程序被停下了)" if program.flooded else ""),
                     "%s characters of output%s" % (
                         amount, " (the program was stopped)" if program.flooded else "")),
             hints=["empty-recv"])


def warm_up(lab, peer, program, text):
    """Exchange one message ``peer`` → program so that its receive loop is running and
    blocked in recv. It is a preparation, not a verdict: a program that does not print it
    goes on to be judged on what the check is about."""
    mark = program.output_mark()
    lab.send(peer, text)
    if program.wait_output(text, timeouts.RELAY, since=mark):
        lab.settle(program)  # back in recv, and every other thread blocked too


def send_and_printed(lab, peer, program, text, zh, en, hints):
    """``peer`` sends ``text``; it must then appear on the program's stdout."""
    mark = program.output_mark()
    lab.send(peer, text)
    printed(program, text, zh=zh, en=en, hints=hints, since=mark)


def quits_on(peer, program):
    """Hints for a program that stopped after a line holding a q inside words: it took
    ``'q' in text`` for quitting."""
    drain([peer])
    return ["q-inside-text"] if peer.eof or not program.running else []


def room(lab, server, names, filler=None):
    """Connect one peer per name to the student's chat room, one after the other at
    classroom pace (see Lab.join)."""
    return [lab.join(server, name, filler=filler) for name in names]
