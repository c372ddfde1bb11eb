"""Text from one client made safe for everyone else's terminal, and framed line by line.

Rule 1: everything that decides which bytes of a client's text reach the others, and
where the sender's prefix goes, lives here. Rule 2: nothing here touches a socket, a
clock or an event loop: plain functions over bytes (``tests/test_sanitize.py`` runs them
in memory, at every byte boundary).

Theory of operation
===================

The hub reads a client's bytes, decodes them (``core``: an incremental UTF-8 decoder per
client, so a character split across reads is whole again, and invalid bytes are U+FFFD),
and hands this module valid UTF-8. Two things happen before the bytes are relayed:

1. **Neutralising** (``neutralise``). A terminal obeys some characters instead of showing
   them: C0 controls (``ESC`` starts the sequences that clear a screen, set a title, write
   the clipboard (OSC 52), draw a hyperlink (OSC 8) or make the terminal *type* a reply
   (``ESC[6n``)), ``DEL``, the C1 controls U+0080-U+009F (U+009B is a one-character CSI),
   the bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069,
   which reorder what follows, "Trojan Source") and the Unicode line and paragraph
   separators (U+2028, U+2029). Each one is **shown as a visible escape** in Python's own
   notation (``ESC`` becomes the four characters ``\\x1b``, U+202E becomes ``\\u202e``),
   not removed: the class sees that someone tried, and the neutralising is the same
   character by character, so an escape sequence cut in two by TCP needs no state at all
   (the ``ESC`` and the ``[2J`` after it are inert wherever the cut falls). Everything
   else passes byte for byte: Chinese, emoji (with their joiners and variation selectors),
   every printable character, and the tab (it only moves right). Line endings:
   ``\\r\\n`` becomes ``\\n``; a ``\\r`` that ends a chunk is dropped (its ``\\n`` usually
   comes in the next read); any other ``\\r`` (the return that lets a line overwrite
   itself) is shown as ``\\r``.

2. **Framing** (``frame``). The lab has no framing, so a ``\\n`` inside a message could
   start a line that looks like someone else's relay (``\\n('127.0.0.1', 9999) : I am the
   teacher``). Every line of a relay therefore begins with the real sender's prefix:
   the prefix goes first, and again after every ``\\n`` but a final one, whose next line
   is the next chunk's, which starts with the prefix in turn. An ordinary one-line message
   ``hello`` is relayed exactly as ``<addr> : hello``, as the lab defines it.

One message, one prefix
-----------------------
A big message arrives in several reads. Relaying each read with its own prefix cut the
text with prefixes in the middle; ``continues`` says when a chunk is the rest of the
previous one instead: the previous read of the same sender filled all the room
it was given, or the new chunk is big (``CONTINUATION_MIN`` bytes or more: TCP cuts such
messages) and so was the one before it (or that one was a continuation itself),
the previous one did not end a line, nothing else was relayed in between (otherwise the
rest would read as the other sender's), and it follows within ``CONTINUATION_GAP`` of the
read before it. A short chat message is never joined to the one before it unless that
read was full, so each keeps its own prefix even when a sender sends two at once; two big
ones sent within the gap may share one, as TCP itself may join them.

What this cannot do: a recipient's own program decides where its ``recv`` cuts the
stream and may print each piece on a line of its own (the lab's client does, 1024 bytes
at a time); a terminal wraps a long line at its own width. No relay can guard against
those without changing the lab's wire format.
"""
import re

__all__ = ['neutralise', 'neutralise_text', 'frame', 'continues', 'CONTINUATION_MIN',
           'CONTINUATION_GAP', 'UNSAFE_CHARACTERS']

#: The characters a terminal obeys instead of showing, which a relay shows as escapes.
#: ``\t`` and ``\n`` are not among them (``\n`` is framed, see ``frame``).
UNSAFE_CHARACTERS = (
    [chr(code) for code in range(0x00, 0x20) if chr(code) not in '\t\n']
    + [chr(code) for code in range(0x7f, 0xa0)]          # DEL and the C1 controls
    + [chr(code) for code in range(0x202a, 0x202f)]      # LRE RLE PDF LRO RLO
    + [chr(code) for code in range(0x2066, 0x206a)]      # LRI RLI FSI PDI
    + ['\u2028', '\u2029'])                              # line and paragraph separators

#: A chunk at least this big was probably cut by TCP; the next one may be its rest.
CONTINUATION_MIN = 1024
#: Seconds within which the rest of a cut message follows its first part.
CONTINUATION_GAP = 0.25

# The same characters as UTF-8 byte patterns. On valid UTF-8 a lead byte (\xc2, \xe2)
# only ever begins a character, so these match the characters above and nothing else.
_UNSAFE_UTF8 = re.compile(
    rb'\r\n|\r\Z|[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xa8-\xae]|\xe2\x81[\xa6-\xa9]')
_UNSAFE_ASCII = bytes(code for code in range(0x80) if chr(code) in UNSAFE_CHARACTERS)
_ESCAPES = {character.encode('utf-8'): ascii(character)[1:-1].encode('ascii')
            for character in UNSAFE_CHARACTERS}
_ESCAPES[b'\r\n'] = b'\n'


def _escape(match):
    found = match.group()
    if found == b'\r' and match.end() == len(match.string):
        return b''                    # a chunk's final \r: its \n is in the next read
    return _ESCAPES[found]


def neutralise(data):
    """``data`` (valid UTF-8 bytes) with every unsafe character shown as a visible escape.

    Returns the very object given when there is nothing to change (the common case);
    may return ``b''`` (a chunk that was only a final ``\\r``).
    """
    if data.isascii():
        # The common case, the hub's hot path: deleting the unsafe bytes is far quicker
        # than a regex search (~1 us against ~8 for a chat message, measured here).
        if len(data.translate(None, _UNSAFE_ASCII)) == len(data):
            return data
    elif _UNSAFE_UTF8.search(data) is None:
        return data
    return _UNSAFE_UTF8.sub(_escape, data)


def neutralise_text(text):
    """``neutralise`` for a str (the web view shows text, not bytes)."""
    return neutralise(text.encode('utf-8')).decode('utf-8')


def frame(prefix, data, continuing=False):
    """The relay of ``data`` (neutralised, non-empty): every line begins with ``prefix``.

    ``continuing`` leaves out the first prefix: ``data`` is the rest of the sender's last
    chunk, whose line it goes on (see ``continues``). A final ``\\n`` gets no prefix after
    it: the line after it is the next chunk's, which starts with one.
    """
    if b'\n' in data:
        if data.endswith(b'\n'):
            data = data[:-1].replace(b'\n', b'\n' + prefix) + b'\n'
        else:
            data = data.replace(b'\n', b'\n' + prefix)
    return data if continuing else prefix + data


def continues(previous_size, previous_filled_read, previous_continued, size,
              previous_ended_line, others_between, gap):
    """Whether a sender's new chunk is the rest of its previous one (no prefix before it).

    Never when something else was broadcast in between, when the previous chunk ended a
    line, or after ``CONTINUATION_GAP``. Otherwise when the previous read filled all the
    room it was given (more was certainly waiting), or when the new chunk is big
    (``CONTINUATION_MIN``) and follows a big one or a continuation: TCP cuts big messages,
    sometimes into a small read in the middle. A short message after a big one keeps its
    own prefix.

    Args:
        previous_size: bytes in the sender's previous chunk (0: there was none).
        previous_filled_read: the read of that chunk took all the room it was given.
        previous_continued: that chunk was itself a continuation.
        size: bytes in the new chunk.
        previous_ended_line: that chunk ended with ``\\n`` (the new one starts a line).
        others_between: anything else (another relay, a notice) went out in between.
        gap: seconds from the read of the previous chunk (or from the moment the hub
            resumed reading this sender, if it had paused) to this one.
    """
    if not previous_size or previous_ended_line or others_between or gap > CONTINUATION_GAP:
        return False
    if previous_filled_read:
        return True
    return size >= CONTINUATION_MIN and (previous_size >= CONTINUATION_MIN or previous_continued)
