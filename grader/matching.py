"""How the grader recognises what the lab's programs print: addresses, relays, notices.

Pure functions from an address (and a text) to a regex; no sockets, processes or threads.
They are tolerant by design: a program passes when it says the right thing in any of the
ways real submissions say it, and fails only when it does not say it at all.
"""

import re

#: Words that say "the chat is over" / "someone left", in the lab's Chinese or in English
#: (the original framework's variants included: 已下线, 离开了聊天室, 服务器已断开连接; students
#: also write 已离线, 掉线了, 断线, 连接已中断, 聊天终止, 已经走了, 退场, 失去连接, "connection
#: lost", "chat is over", "exited the room", "logged out"). Not 再见 or "bye": the grader's
#: own messages say them.
END_WORDS = re.compile(r"结束|断开|关闭|退出|离开|下线|离线|掉线|断线|中断|终止|走了|退场|离场|"
                       r"登出|失去连接|失联|"
                       r"(?i:\b(?:end|ended|closed|disconnected|disconnects|left|leaves|quit|"
                       r"quits|quitted|exit|exits|exited|offline|lost|terminated|over|"
                       r"logged (?:out|off))\b)")


def address_pattern(address):
    """A regex that finds ``address`` as the lab's programs print it, tolerantly:
    ``('127.0.0.1', 51234)``, ``127.0.0.1:51234``, ``('127.0.0.1',51234)`` or in words,
    ``IP: 127.0.0.1 端口: 51234``."""
    ip, port = address[0], address[1]
    # Between the two: a few separators, or a few words ("IP: 127.0.0.1 端口: 51140").
    return re.compile(r"%s(?:\W{1,4}|[^\d\n]{1,16}?)%d(?!\d)" % (re.escape(ip), port))


def relay_of(address, text):
    """A regex for a relay of ``text`` from ``address``: the address, then on the same line
    at most RELAY_GAP characters (`` : ``, a full-width ``：``, a time stamp such as
    `` [06:54:53]: ``) holding no other address, then the text."""
    return re.compile(r"%s(?:(?!%s)[^\n]){0,%d}?%s" % (
        address_pattern(address).pattern, re.escape(address[0]), RELAY_GAP, re.escape(text)))


#: Characters a relay may put between its sender's address and the text.
RELAY_GAP = 24


def departure_notice(address):
    """A regex for a notice that ``address`` left, in either order of address and word."""
    name = address_pattern(address).pattern
    return re.compile(r"%s[^\n]{0,40}?(?:%s)|(?:%s)[^\n]{0,40}?%s"
                      % (name, END_WORDS.pattern, END_WORDS.pattern, name))


#: Lines of a traceback or of Python's report of an exception, which are not the program
#: telling its user anything: the header, the indented frames, the exception line itself
#: ("OSError: ..."), and the lines that join chained ones.
_TRACEBACK_LINE = re.compile(
    r"^(?:Traceback \(most recent call last\):|\s|Exception in thread |During handling |"
    r"The above exception |[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)\b)")


def told_on_stderr(text):
    """The lines of ``text`` (stderr) that the program printed itself, tracebacks left out."""
    return "\n".join(line for line in text.splitlines() if not _TRACEBACK_LINE.match(line))


def newline_sent(read, lines):
    """How the first of ``lines`` (typed) that a client sent with a line ending after it
    arrived, as its repr (``'hello\\n'``), or ``''``. The typed lines hold no newline, so
    one after a line in ``read`` (bytes) was added by the client."""
    for line in lines:
        for ending in ("\r\n", "\n"):
            if (line + ending).encode("utf-8") in read:
                return repr(line + ending)
    return ""


#: The encodings a Chinese Windows console uses, which students set on their streams.
GBK_FAMILY = ("gbk", "gb2312", "gb18030", "cp936")
_STREAM_ENCODING = r"%s[^\n]{0,100}?encoding\s*=\s*['\"](%s)['\"]"


def stream_set_to_gbk(source, stream):
    """The GBK-family encoding ``source`` gives ``stream`` ("stdout", "stdin") on one line
    (``io.TextIOWrapper(sys.stdout.buffer, encoding='gbk')``, ``sys.stdin.reconfigure(
    encoding='gb2312')``), or ``''``."""
    found = re.search(_STREAM_ENCODING % (re.escape(stream), "|".join(GBK_FAMILY)), source,
                      re.IGNORECASE)
    return found.group(1) if found else ""


def misread_as(line, read, encodings=GBK_FAMILY):
    """The encoding in ``encodings`` whose misreading of ``line``'s UTF-8 bytes (sent on as
    UTF-8) is in ``read`` (bytes), or ``''``: a program that decodes UTF-8 keyboard input
    as GBK sends 浣犲ソ for 你好."""
    data = line.encode("utf-8")
    for encoding in encodings:
        for errors in ("strict", "replace"):
            try:
                garbled = data.decode(encoding, errors)
            except UnicodeDecodeError:
                continue
            if garbled != line and garbled.encode("utf-8") in read:
                return encoding
    return ""
