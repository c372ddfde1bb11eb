"""The lab's prompts: which ones a program printed, and which one each of its reads answers.

Pure bookkeeping over text and lists: no threads, no processes. ``grader.lab.StudentProgram``
feeds it what the program printed and where it waited, and types the answers it returns.

Theory of operation
-------------------
The given code asks its questions (IP, port, mode, max clients) by printing a prompt and
reading a line. Prompts are recognised by their core words (:data:`PROMPTS`), so a prompt
moved into ``input('...')`` or asked in another order still counts. The grader learns from
the program's stdout both what it printed and where, in that text, it waited for a line of
stdin (a *read request*, announced by the launcher: see grader/process.py).

A read answers the **last** prompt printed since the previous read (or since the start).
So the course framework, which prints ``请输入聊天服务器IP`` but reads no line for it (the IP
hard-coded) and then asks for the port, gets only the port typed, as a person at the
keyboard would type it. A prompt printed but never read is *seen* and not answered; a read
after no prompt (the send thread waiting for chat lines, or a question the grader cannot
answer) gets nothing. Answers are typed only when the program waits, so none can be
swallowed by the wrong ``input()``.

Whether the prompts changed is judged by what was *printed* (seen), in order, not by what
was answered: the framework's unread IP prompt is still the given prompt in its place.

Text arrives in pieces. :func:`scan` finds the prompts completed in a piece and carries
over only the end of the last line after the last prompt (a prompt never spans a line, and
is shorter than :data:`CARRY_CHARS`), so output that goes on for megabytes is scanned once.
"""

import collections
import re

#: Prompts of the lab's given code, recognised in the student's output, and what each asks.
#: Recognised by their core words so that a prompt moved into ``input('...')`` still counts.
PROMPTS = (
    ("ip", re.compile(r"请输入.{0,12}IP")),
    ("port", re.compile(r"请输入.{0,12}端口")),
    ("mode", re.compile(r"请输入.{0,12}模式")),
    ("max", re.compile(r"请输入.{0,12}(?:数量|人数|上限)")),
)
PROMPT_TEXT = {
    "ip": "请输入聊天服务器IP",
    "port": "请输入聊天服务器端口",
    "mode": "请输入服务器工作模式(p2p,hub)",
    "max": "请输入最大允许连接的客户端数量",
}
#: The order in which the given code asks.
EXPECTED_PROMPTS = {"client": ("ip", "port"), "server": ("port", "mode", "max")}

#: Characters of an unfinished line kept for the next piece: more than any prompt spans.
CARRY_CHARS = 64

#: Prompts printed that are remembered (the first ones are what prompts_changed judges).
SEEN_KEPT = 100

#: What is known of a program's prompts so far:
#:   seen     kinds of the prompts printed, in order (the first SEEN_KEPT)
#:   asked    kinds of the prompts answered, in order
#:   waiting  kind of the last prompt printed since the last read (None: no prompt)
#:   carry    the end of the output, not yet scanned to its end (see scan)
Heard = collections.namedtuple("Heard", "seen asked waiting carry")
NOTHING_HEARD = Heard((), (), None, "")


def find_prompts(text):
    """``[(start, end, kind)]`` of the prompts in ``text``, left to right, not overlapping
    (where two kinds' patterns match, the one that starts first wins)."""
    found, position = [], 0
    while True:
        matches = [(m.start(), m.end(), kind)
                   for kind, rx in PROMPTS for m in [rx.search(text, position)] if m]
        if not matches:
            return found
        found.append(min(matches))
        position = found[-1][1]


def scan(carry, text):
    """``(kinds, carry)``: the kinds of the prompts completed in ``carry + text``, in order,
    and what must be looked at again with the next piece (the end of the last line, after
    the last prompt found: a prompt may still be printing there)."""
    text = carry + text
    found = find_prompts(text)
    rest = text[found[-1][1]:] if found else text
    rest = rest[rest.rfind("\n") + 1:]
    return [kind for _, _, kind in found], rest[-CARRY_CHARS:]


def hear(heard, text, read=False):
    """``(heard, kind)`` after the program printed ``text`` and then, if ``read``, waited for
    a line. ``kind`` is the prompt that read answers (the last one printed since the
    previous read), or None: nothing is to be typed."""
    kinds, carry = scan(heard.carry, text)
    seen = (heard.seen + tuple(kinds))[:SEEN_KEPT]
    waiting = kinds[-1] if kinds else heard.waiting
    if not read:
        return Heard(seen, heard.asked, waiting, carry), None
    asked = heard.asked + ((waiting,) if waiting else ())
    # A prompt never spans a read: the program printed all of it before it waited.
    return Heard(seen, asked, None, ""), waiting


def split_at_reads(text, end, reads):
    """``[(piece, read)]``: ``text`` (output that ends at position ``end``) cut at the read
    requests at positions ``reads`` (ascending); ``read`` is True for a piece the program
    printed before it waited. Positions are mapped from the end of ``text``, so one lost
    in the cut of a long output counts as the start of what is left."""
    start = end - len(text)
    pieces, at = [], 0
    for position in reads:
        cut = min(max(position - start, at), len(text))
        pieces.append((text[at:cut], True))
        at = cut
    pieces.append((text[at:], False))
    return pieces


#: In :func:`follow`'s events: the program waits for a line here.
READ = object()


def follow(events):
    """Replay a run: ``events`` are printed texts (str) and ``READ``; returns the final
    :data:`Heard` and the kinds answered by each read (None where nothing is typed)."""
    heard, answers = NOTHING_HEARD, []
    for event in events:
        if event is READ:
            heard, kind = hear(heard, "", read=True)
            answers.append(kind)
        else:
            heard, _ = hear(heard, event)
    return heard, answers


def prompts_changed(expected, seen, started=False):
    """The given prompts (``expected``, in their order) that the program never printed, or
    printed out of order, judged from ``seen`` (the kinds printed, in order): ``""`` if
    none. A program that printed the first prompts in order and then stopped before it got
    going (``started`` False: an error, not a prompt problem) gets ``""`` too."""
    seen = [kind for kind in seen if kind in expected]
    missing = [PROMPT_TEXT[kind] for kind in expected if kind not in seen]
    if missing and seen and not started and tuple(seen) == expected[:len(seen)]:
        return ""  # it asked in order and then stopped (an error): not a prompt problem
    if missing:
        return ", ".join(missing)
    first_seen = sorted(set(seen), key=seen.index)
    if tuple(first_seen) != tuple(expected):
        return "order / 顺序: " + " → ".join(PROMPT_TEXT[kind] for kind in first_seen)
    return ""
