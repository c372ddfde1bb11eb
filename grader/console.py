"""What the grader asks of the console it runs in: language, colours, width, encoding.

    detect_lang     "zh" or "en" from the environment (then the OS), for the default report
    use_color       whether a stream is a terminal that shows ANSI colours
    terminal_width  the columns a report printed by this process gets
    piped_width     the columns a grader process whose stdout is not a terminal gets
    printable       a text with stand-ins for the marks a console cannot encode (GBK: √ ×)
    safe_output     make stdout and stderr replace a character they cannot show

Reports (grader/report.py) are told the language, the colours and the width; this module
is where those come from. The OS is asked only in two small seams (``_system_locale`` and
``_windows_ui_language``) that tests replace with fakes.
"""

import locale
import os
import shutil
import sys

#: The width of a report when nothing says otherwise (no ``COLUMNS``, no terminal): what
#: ``shutil.get_terminal_size`` falls back to.
FALLBACK_WIDTH = 80


def _system_locale():
    """The name of the process's locale (``zh_CN``, ``Chinese (Simplified)_China``), or ""."""
    try:
        return locale.getlocale()[0] or ""
    except Exception:  # an unparsable locale must never stop a report
        return ""


def _windows_ui_language():
    """The Windows user's UI language id (a LANGID), or None off Windows or on failure."""
    if os.name != "nt":
        return None
    try:
        import ctypes

        return int(ctypes.windll.kernel32.GetUserDefaultUILanguage())
    except Exception:  # no ctypes, no kernel32: the caller falls back to English
        return None


def detect_lang(environ=None, *, system_locale=_system_locale, ui_language=_windows_ui_language):
    """The report language for this user: "zh" or "en".

    Args:
        environ: the environment to read (default ``os.environ``). The first of
            ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is set and non-empty decides
            alone: "zh" if it starts with "zh".
        system_locale: only when none of them is set: a function returning the locale
            name; "zh..." or "Chinese..." means "zh".
        ui_language: then a function returning the Windows UI LANGID or None; primary
            language 0x04 means Chinese.

    Returns:
        "zh" or "en"; anything failing gives "en".

    Example: ``detect_lang({"LANG": "zh_CN.UTF-8"})`` is "zh".
    """
    environ = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    try:
        if (system_locale() or "").lower().startswith(("zh", "chinese")):
            return "zh"
        language_id = ui_language()
        if language_id is not None and language_id & 0x3FF == 0x04:
            return "zh"
    except Exception:  # a fake or an odd OS answer: English, never a crash
        pass
    return "en"


def _windows_vt(stream):
    """Switch on virtual-terminal processing (ANSI colours) for the Windows console
    ``stream`` writes to; True if it is on. The one place that calls the Win32 API."""
    try:
        import ctypes
        import msvcrt
        from ctypes import wintypes
        handle = msvcrt.get_osfhandle(stream.fileno())
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        mode = wintypes.DWORD()
        if not kernel32.GetConsoleMode(handle, ctypes.byref(mode)):
            return False
        wanted = mode.value | ENABLE_VIRTUAL_TERMINAL_PROCESSING
        return bool(mode.value & ENABLE_VIRTUAL_TERMINAL_PROCESSING
                    or kernel32.SetConsoleMode(handle, wanted))
    except (ImportError, AttributeError, OSError, ValueError):
        return False


#: SetConsoleMode's flag for ANSI escape sequences (Windows 10 1511 and later).
ENABLE_VIRTUAL_TERMINAL_PROCESSING = 0x0004


def use_color(stream, environ=None, *, os_name=None, windows_vt=_windows_vt):
    """Whether ANSI colours may be written to ``stream``.

    Only to a terminal (``stream.isatty()``), never with ``NO_COLOR`` set or ``TERM=dumb``.
    On Windows where a terminal is known to understand them (Windows Terminal's
    ``WT_SESSION``, ANSICON, a ``TERM`` from Git Bash or MSYS, VS Code's terminal), and in a
    plain console (cmd, PowerShell) only once its virtual-terminal processing is switched
    on (``windows_vt``, which tries): else the codes would print as raw text.
    """
    environ = os.environ if environ is None else environ
    os_name = os.name if os_name is None else os_name
    try:
        if not stream.isatty():
            return False
    except Exception:  # closed or not a file at all
        return False
    if "NO_COLOR" in environ or environ.get("TERM") == "dumb":
        return False
    if os_name == "nt":
        known = (environ.get("WT_SESSION") or environ.get("ANSICON") or environ.get("TERM")
                 or environ.get("TERM_PROGRAM") == "vscode")
        return bool(known) or bool(windows_vt(stream))
    return True


def terminal_width():
    """The columns a report printed by this process gets: ``COLUMNS`` if it is set, else
    the width of the terminal stdout is on, else FALLBACK_WIDTH
    (``shutil.get_terminal_size``)."""
    return shutil.get_terminal_size((FALLBACK_WIDTH, 24)).columns


def piped_width(environ=None):
    """What :func:`terminal_width` gives in a process whose stdout is not a terminal and
    whose environment is ``environ`` (default ``os.environ``): ``COLUMNS`` if it is a
    positive number, else FALLBACK_WIDTH.

    batch writes the report of a student graded in a grader process of its own; that
    process's stdout is a pipe and its environment is batch's, so this is the width the
    student's report has when they run ``python -m grader`` into a file or a pipe.
    """
    environ = os.environ if environ is None else environ
    try:
        columns = int(environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    return columns if columns > 0 else FALLBACK_WIDTH


#: Marks a console may lack, and stand-ins it has: GBK (a Chinese Windows console, cmd or
#: PowerShell with code page 936) has √ and × but neither ✓ nor ✗, which would print as ?.
STAND_INS = {"✓": "√", "✗": "×"}


def printable(text, stream=None):
    """``text`` with the stand-ins for marks that ``stream`` (default stdout) cannot encode."""
    stream = sys.stdout if stream is None else stream
    encoding = getattr(stream, "encoding", None) or "utf-8"
    missing = {}
    for mark, stand_in in STAND_INS.items():
        try:
            mark.encode(encoding)
        except UnicodeEncodeError:
            missing[mark] = stand_in
        except LookupError:
            return text
    return text.translate(str.maketrans(missing)) if missing else text


def safe_output(streams=None):
    """A console that cannot show a character (GBK and ✓) shows a replacement instead of
    ending the run with UnicodeEncodeError. ``streams``: default stdout and stderr."""
    for stream in (sys.stdout, sys.stderr) if streams is None else streams:
        try:
            stream.reconfigure(errors="replace")
        except (AttributeError, ValueError):
            pass
