"""classroom.sanitize in memory: what reaches another student's terminal, split at every
byte boundary a TCP read could cut."""
import codecs

import pytest

from classroom import sanitize
from classroom.sanitize import (CONTINUATION_GAP, CONTINUATION_MIN, UNSAFE_CHARACTERS,
                                continues, frame, neutralise, neutralise_text)

PREFIX = b"('127.0.0.1', 51234) : "

#: The attacks measured against the old hub, each as the bytes a hostile client sent.
ATTACKS = {
    'clear the screen': b'\x1b[2J\x1b[H',
    'set the title': b'\x1b]0;pwned\x07',
    'write the clipboard (OSC 52)': b'\x1b]52;c;cm0gLXJmIH4=\x07',
    'fake hyperlink (OSC 8)': b'\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\',
    'make the terminal type (ESC[6n)': b'\x1b[6n',
    'one-character CSI (C1)': '\u009b2J'.encode('utf-8'),
    'erase the line after a return': b'\r\x1b[2K(\'127.0.0.1\', 9999) : I am the teacher',
    'bidi override': 'abc\u202edcba\u202c'.encode('utf-8'),
    'bidi isolate': '\u2067hidden\u2069'.encode('utf-8'),
    'backspaces over the prefix': b'\x08' * 30 + b'teacher : hi',
    'vertical tab and form feed': b'a\x0bb\x0cc',
    'next line (C1 NEL)': 'x\u0085y'.encode('utf-8'),
    'unicode line separator': 'x\u2028y\u2029z'.encode('utf-8'),
    'delete': b'abc\x7f\x7f',
}

#: Text that must pass byte for byte.
HARMLESS = [
    '你好, 世界! 这是一条中文消息。', '\U0001f600\U0001f389 emoji', 'family \U0001f468\u200d\U0001f469\u200d\U0001f467',
    'flag \U0001f1e8\U0001f1f3', 'heart \u2764\ufe0f', 'tabs\tare\tfine', 'mixed 汉字 ASCII 123',
    'ideographic\u3000space', 'arabic \u0645\u0631\u062d\u0628\u0627 with its own direction',
    'zero width\u200bspace', 'replacement \ufffd', 'ا', 'ñ é ü', 'math \u2211 \u222b',
    '(not a prefix) : really', "('127.0.0.1', 9999) : on the same line is harmless",
]


def acts_on_a_terminal(data):
    """Any character in ``data`` that a terminal would obey rather than show."""
    text = data.decode('utf-8')
    return [character for character in text if character in UNSAFE_CHARACTERS]


@pytest.mark.parametrize('attack', sorted(ATTACKS))
def test_no_attack_leaves_a_character_a_terminal_obeys(attack):
    out = neutralise(ATTACKS[attack])
    assert acts_on_a_terminal(out) == []
    assert b'\n' not in out, 'a neutralised chunk starts no line'


def test_controls_are_shown_as_python_escapes():
    assert neutralise(b'\x1b[2J') == b'\\x1b[2J'
    assert neutralise('a\u202eb'.encode('utf-8')) == b'a\\u202eb'
    assert neutralise('\u009b'.encode('utf-8')) == b'\\x9b'
    assert neutralise(b'\x00\x7f') == b'\\x00\\x7f'
    assert neutralise(b'a\rb') == b'a\\rb'


@pytest.mark.parametrize('text', HARMLESS)
def test_printable_unicode_passes_byte_for_byte_and_unchanged(text):
    data = text.encode('utf-8')
    assert neutralise(data) is data


def test_every_printable_character_of_the_bmp_passes():
    text = ''.join(chr(code) for code in range(0x20, 0x10000)
                   if chr(code).isprintable() and not 0xd800 <= code < 0xe000)
    data = text.encode('utf-8')
    assert neutralise(data) == data


def test_every_unsafe_character_is_escaped_and_nothing_else():
    for character in UNSAFE_CHARACTERS:
        out = neutralise(('a' + character + 'b').encode('utf-8'))
        if character == '\r':
            assert out == b'a\\rb'
        else:
            assert out == b'a' + ascii(character)[1:-1].encode() + b'b', repr(character)


def test_line_endings_of_windows_and_telnet_clients():
    assert neutralise(b'hello\r\n') == b'hello\n'
    assert neutralise(b'hello\r') == b'hello', 'its \\n comes in the next read'
    assert neutralise(b'\r') == b''
    assert neutralise(b'a\r\nb\r\n') == b'a\nb\n'


def feed_in_pieces(data, cuts):
    """What the hub relays of ``data`` when TCP cuts it at ``cuts``: each read decoded by
    the client's incremental decoder (as core does), then neutralised."""
    decoder = codecs.getincrementaldecoder('utf-8')(errors='replace')
    out = b''
    bounds = [0] + list(cuts) + [len(data)]
    for start, end in zip(bounds, bounds[1:]):
        text = decoder.decode(data[start:end])
        if text:
            out += neutralise(text.encode('utf-8'))
    return out


SPLIT_CASES = [
    b'\x1b[2J' + '你好\U0001f600'.encode('utf-8') + b'\x1b]52;c;eA==\x07ok',
    '中\u202e文\u2028'.encode('utf-8') + b'\x9b' + '\u009b'.encode('utf-8'),
    b'tab\there\nnext line\n' + '表情\U0001f468\u200d\U0001f469'.encode('utf-8'),
]


@pytest.mark.parametrize('data', SPLIT_CASES)
def test_a_cut_at_any_byte_or_two_changes_nothing(data):
    whole = feed_in_pieces(data, [])
    assert acts_on_a_terminal(whole) == []
    for first in range(1, len(data)):
        assert feed_in_pieces(data, [first]) == whole, 'cut at %d' % first
        for second in range(first + 1, len(data), 3):
            assert feed_in_pieces(data, [first, second]) == whole, (first, second)


def test_a_cut_between_return_and_newline_keeps_one_line_ending():
    data = b'line one\r\nline two'
    for cut in range(1, len(data)):
        assert feed_in_pieces(data, [cut]) == b'line one\nline two'


def test_invalid_utf8_stays_replacement_characters():
    assert feed_in_pieces(b'\xff\xfebad', []) == '\ufffd\ufffdbad'.encode('utf-8')
    assert feed_in_pieces(b'\x9b2J', []) == '\ufffd2J'.encode('utf-8'), 'a raw 8-bit CSI'


def test_neutralise_text_is_the_same_on_str():
    assert neutralise_text('\x1b[31m红色') == '\\x1b[31m红色'


# -- framing -----------------------------------------------------------------------------

def test_an_ordinary_message_is_the_lab_relay():
    assert frame(PREFIX, b'hello') == PREFIX + b'hello'
    assert frame(PREFIX, '你好'.encode('utf-8')) == PREFIX + '你好'.encode('utf-8')


def test_every_line_of_a_relay_starts_with_the_prefix():
    forged = b"hi\n('127.0.0.1', 9999) : I am the teacher\n"
    out = frame(PREFIX, neutralise(forged))
    assert out == PREFIX + b"hi\n" + PREFIX + b"('127.0.0.1', 9999) : I am the teacher\n"
    for line in out.split(b'\n')[:-1]:
        assert line.startswith(PREFIX)


def test_a_final_newline_leaves_the_next_line_to_the_next_chunk():
    assert frame(PREFIX, b'hello\n') == PREFIX + b'hello\n'
    assert frame(PREFIX, b'\n') == PREFIX + b'\n'
    assert frame(PREFIX, b'\n\n') == PREFIX + b'\n' + PREFIX + b'\n'


def test_a_continuation_goes_on_the_line_of_the_chunk_before_it():
    assert frame(PREFIX, b'rest of it', continuing=True) == b'rest of it'
    assert frame(PREFIX, b'rest\nmore', continuing=True) == b'rest\n' + PREFIX + b'more'


BIG = 64 * 1024


@pytest.mark.parametrize('previous_size, full, continued, size, ended_line, others, gap, expected', [
    (BIG, False, False, BIG, False, False, 0.0, True),             # a big message cut by TCP
    (BIG, True, False, 5, False, False, CONTINUATION_GAP, True),   # its short rest, after a full read
    (332, False, True, BIG, False, False, 0.0, True),              # after a small read inside it
    (CONTINUATION_MIN, False, False, CONTINUATION_MIN, False, False, 0.0, True),
    (BIG, False, False, 5, False, False, 0.0, False),              # a chat message after a paste
    (BIG, False, True, 5, False, False, 0.0, False),
    (CONTINUATION_MIN - 1, False, False, BIG, False, False, 0.0, False),  # after a chat message
    (0, False, False, BIG, False, False, 0.0, False),              # nothing before it
    (BIG, True, True, BIG, True, False, 0.0, False),               # the last one ended a line
    (BIG, True, True, BIG, False, True, 0.0, False),               # someone else spoke between
    (BIG, True, True, BIG, False, False, CONTINUATION_GAP + 0.01, False),
])
def test_continues(previous_size, full, continued, size, ended_line, others, gap, expected):
    assert continues(previous_size, full, continued, size, ended_line, others, gap) is expected


def test_the_module_is_pure():
    assert not {'socket', 'asyncio', 'time', 'threading'} & set(vars(sanitize))
