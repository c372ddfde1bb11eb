"""A check's verdict that the student's code is wrong, in both languages.

    Finding           an AssertionError carrying a summary in Chinese and English, what was
                      expected and got, hint ids, and whether the program never started
    fail(...)         raises one
    say(zh, en)       a text in both languages, for ``expected`` and ``got``
    in_lang           picks one language of such a text
    STUDENT_FAILURES  what a student's program causes when it is wrong

Pure: no sockets, processes or threads. Checks, steps and the plugin import it.
"""

class Finding(AssertionError):
    """The student's code did something wrong (as opposed to a failure of the grader).

    Args:
        zh, en: one sentence saying what went wrong.
        expected, got: what should have happened and what did: a ``(zh, en)`` pair made
            with :func:`say`, or a plain str for data that reads the same in both
            languages (the repr of bytes received, say); trimmed by callers.
        hints: hint ids, most likely first (see grader.hints).
        details: detail text per hint id.
        start: True when the program never got to the point the check needed (it ended
            or got stuck at start-up): one such cause fails many checks the same way.
    """

    def __init__(self, zh, en, expected="", got="", hints=(), details=None, start=False):
        super().__init__(en)
        self.zh, self.en = zh, en
        self.expected, self.got = expected, got
        self.hints = list(hints)
        self.details = dict(details or {})
        self.start = start

    def summary(self, lang):
        return self.zh if lang == "zh" else self.en

    def text(self, name, lang):
        """``expected`` or ``got`` in ``lang``."""
        return in_lang(getattr(self, name), lang)


#: What a student's program causes when it is wrong: a Finding or a missed wait (both
#: AssertionErrors), or a connection it broke. Anything else in a check is the grader's.
STUDENT_FAILURES = (AssertionError, ConnectionError)


def say(zh, en):
    """A text in both languages, for ``expected`` and ``got``."""
    return (zh, en)


def in_lang(value, lang):
    """``value`` in ``lang``: a ``say(zh, en)`` pair picks one, a str is the same in both."""
    if isinstance(value, tuple):
        return value[0] if lang == "zh" else value[1]
    return value


def fail(zh, en, expected="", got="", hints=(), details=None):
    raise Finding(zh, en, expected, got, hints, details)
