"""Which students' code is alike: a batch's similarity report, the skeleton's given code excluded.

    read_sources(submissions)   each student's chat_client.py / chat_server.py, from a folder or
                                a .zip, decoded (UTF-8, else GB18030, else with replacements)
    compare(sources, skeleton)  a Similarity: every pair of students, most similar first
    render_text(similarity)     the most similar pairs, a line each (for summary.txt)
    render_html(similarity)     similarity.html: those pairs, and the closest side by side
    write_similarity(out, submissions)   both files in ``out``, and a line for the log,
                                which says the report was skipped (and how to get it) when
                                copydetect is not installed

Theory of operation
-------------------
The comparing is copydetect's (``pip install 'socket-lab[similarity]'``, MOSS's winnowing):
each file is tokenized by pygments, names become ``V``/``F``/``O``, strings ``S``, comments and
whitespace are dropped, and the k-grams of what is left are fingerprints. So renamed
variables and deleted comments change nothing. The skeleton's files are boilerplate: their
fingerprints are removed from every student's, so code every student was given never counts.
What this module adds is the class's shape: client is compared with client and server with
server, pairs are of students, and files with too little code of their own are left out.

Two normalisations before copydetect, each keeping every character where it was (so
copydetect's positions still point into the student's original text, which the side-by-side
view shows): docstrings become spaces, since copydetect drops comments but keeps a
docstring as a string (``S``), and deleting docstrings, next to own code at the top of
every function, cut a copy's score to 0.8; and ``self``/``cls`` become ``SELF``/``CLS``,
since pygments reads them as built-ins, which copydetect keeps as they are, so a copy that
renamed ``self`` lost half its matches.

A pair's score is the larger of its two shares: the part of one student's own code (after
the skeleton is removed) that is found in the other's, over whichever file is higher. A
student who copied a classmate and added more still shows the classmate's whole code found.
The score says where to look, never that anyone copied: a TA reads the side-by-side view.
"""

import ast
import html
import io
import itertools
import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, NamedTuple, Optional

from .files import write_atomic

#: The files compared, each only with the same file of other students.
FILES = ("chat_client.py", "chat_server.py")

#: copydetect's noise threshold: the shortest run of filtered characters (names already
#: ``V``) that counts as shared. Longer than copydetect's default 25: in this lab the
#: skeleton's hints spell out a few short lines every student writes the same way
#: (``V.V=V.V.V(V.V,V.V)``), which at 25 made two independent solutions look a third alike.
NOISE = 35
#: Winnowing window 1: every fingerprint kept, so a score is the same on every run.
#: copydetect hashes k-grams with Python's hash(), which differs from process to process
#: (PYTHONHASHSEED); with a window over 1 which fingerprints winnowing keeps, and so the
#: scores, changed from run to run (a pair at 26% in one run, 32% in the next, window 4).
WINDOW = 1

#: A file with fewer filtered characters of its own than this (once the skeleton is taken
#: out) is not compared: an almost untouched skeleton has nothing to copy or be copied, and
#: the little it has (the one line a hint dictates) would score as wholly shared.
MIN_OWN_CODE = 100

#: From this score a pair is shown side by side and counted as worth a look.
FLAG_AT = 0.5
#: At most this many pairs listed, and this many side by side (each holds two files).
MAX_LISTED = 40
MAX_SIDE_BY_SIDE = 15

#: A student's file larger than this is not code to compare (a flood, a pasted log).
MAX_SOURCE_BYTES = 512 * 1024

#: Tried in order on a student's bytes: a Chinese Windows editor saves GBK (GB18030 reads it).
ENCODINGS = ("utf-8-sig", "gb18030")

INSTALL_HINT = "pip install 'socket-lab[similarity]' (or: pip install copydetect)"

#: Labels of the outputs, by language.
LABELS = {
    "en": {
        "title": "Similarity of the students' code",
        "intro": ("The skeleton's given code is excluded; renamed names, strings and comments "
                  "do not change a score. A score is the share of one student's own code "
                  "found in the other's (the larger of the two), over the more similar file. "
                  "It says where to look, not that anyone copied."),
        "pairs": "Most similar pairs",
        "students": "students", "score": "score", "file": "file",
        "share": "share of %s's code found in %s",
        "flagged": "pairs at %d%% or more: %d",
        "groups": "Groups linked by pairs at %d%% or more",
        "side": "Side by side (matching code highlighted)",
        "notes": "Notes on the files read",
        "none": "No two students' code is alike.",
        "compared": "%d students compared",
        "more": "… %d more pairs not listed",
        "skipped": ("similarity report skipped: copydetect is not installed; to get it: "
                    + INSTALL_HINT),
        "written": "similarity report: %s (%d students; pairs at %d%% or more: %d)",
        "failed": "similarity report failed: %s",
    },
    "zh": {
        "title": "学生代码相似度",
        "intro": ("已排除骨架代码中给定的部分; 改名、改字符串、删注释都不改变分数。分数是一个学生自己的代码"
                  "在另一个学生代码中出现的比例 (两个方向取较大者, 取较相似的文件)。分数只说明值得看一看, "
                  "不说明有人抄袭。"),
        "pairs": "最相似的学生对",
        "students": "学生", "score": "分数", "file": "文件",
        "share": "%s 的代码在 %s 中出现的比例",
        "flagged": "相似度 %d%% 及以上的学生对: %d",
        "groups": "相似度 %d%% 及以上的学生组",
        "side": "并排对照 (相同的代码已高亮)",
        "notes": "读取文件时的说明",
        "none": "没有相似的代码。",
        "compared": "比较了 %d 名学生",
        "more": "… 另有 %d 对未列出",
        "skipped": "未生成相似度报告: 没有安装 copydetect; 安装方法: " + INSTALL_HINT,
        "written": "相似度报告: %s (%d 名学生; 相似度 %d%% 及以上的学生对: %d)",
        "failed": "相似度报告失败: %s",
    },
}


def labels(lang):
    return LABELS.get(lang, LABELS["en"])


@dataclass
class Source:
    """One student's file as read: its text (None when it could not be used) and why not."""

    student: str
    name: str
    text: object = None
    #: What to know about the file (an encoding guessed, a syntax error, too large).
    notes: List[str] = field(default_factory=list)


@dataclass
class FileMatch:
    """One file of a pair of students: each one's share found in the other's, and where."""

    name: str
    share_a: float
    share_b: float
    #: copydetect's copied slices of each text (2 x N arrays of start, end positions).
    slices_a: object = None
    slices_b: object = None

    @property
    def score(self):
        return max(self.share_a, self.share_b)


@dataclass
class Pair:
    a: str
    b: str
    files: List[FileMatch] = field(default_factory=list)

    @property
    def score(self):
        return max((match.score for match in self.files), default=0.0)


@dataclass
class Similarity:
    """Every pair of students compared, most similar first, and the texts compared."""

    students: List[str]
    pairs: List[Pair]
    #: (student, file name) -> the text, for the side-by-side view.
    texts: dict
    notes: List[str] = field(default_factory=list)

    def flagged(self, at=FLAG_AT):
        return [pair for pair in self.pairs if pair.score >= at]


# ------------------------------------------------------------------ reading the files


def read_sources(submissions):
    """The Sources of ``submissions``: (student, folder or .zip) pairs, as batch discovers
    them. A file a student did not hand in is simply absent; one that cannot be read is a
    Source without text and a note saying why."""
    found = []
    for student, source in submissions:
        for name in FILES:
            try:
                data = _read_bytes(Path(source), name)
            except UNREADABLE as error:
                found.append(Source(student, name, None, ["%s: cannot read %s: %s"
                                                          % (student, name, error)]))
                continue
            if data is not None:
                found.append(_decoded(student, name, data))
    return found


#: What reading a student's folder or .zip can raise: a broken, encrypted (RuntimeError) or
#: oddly compressed (NotImplementedError) zip, corrupt data, a file that vanished.
UNREADABLE = (OSError, ValueError, RuntimeError, NotImplementedError, EOFError,
              zipfile.BadZipFile, zlib.error)


def _read_bytes(source, name):
    """The bytes of the shallowest ``name`` in a folder or a .zip (None if there is none);
    ValueError when it is larger than MAX_SOURCE_BYTES."""
    if source.is_dir():
        paths = list(_files_named(source, name))
        if not paths:
            return None
        path = min(paths, key=lambda path: (len(path.parts), str(path)))
        if not stat.S_ISREG(path.lstat().st_mode):
            # A student's link (to /etc/shadow, /dev/zero) or FIFO is never followed: the
            # instructor's process reads it, and a FIFO would hang the batch.
            raise ValueError("not a regular file (a link or a device); not read")
        with open(str(path), "rb") as stream:
            data = stream.read(MAX_SOURCE_BYTES + 1)
        if len(data) > MAX_SOURCE_BYTES:
            raise ValueError("larger than %d KB" % (MAX_SOURCE_BYTES // 1024))
        return data
    with zipfile.ZipFile(str(source)) as archive:
        members = [info for info in archive.infolist() if not info.is_dir()
                   and info.filename.rsplit("/", 1)[-1] == name
                   and _counts(tuple(info.filename.split("/")))]
        if not members:
            return None
        member = min(members, key=lambda info: (info.filename.count("/"), info.filename))
        if member.file_size > MAX_SOURCE_BYTES:
            raise ValueError("larger than %d KB" % (MAX_SOURCE_BYTES // 1024))
        with archive.open(member) as stream:  # read no more than declared, whatever it says
            return stream.read(MAX_SOURCE_BYTES + 1)[:MAX_SOURCE_BYTES]


def _files_named(folder, name):
    """Every ``name`` under ``folder``, without entering linked folders."""
    for where, folders, files in os.walk(str(folder), followlinks=False):
        folders[:] = [one for one in folders if _counts((one,))]
        if name in files:
            yield Path(where) / name


def _counts(parts):
    return "__MACOSX" not in parts and "__pycache__" not in parts


def _decoded(student, name, data):
    source = Source(student, name)
    for encoding in ENCODINGS:
        try:
            source.text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding != ENCODINGS[0]:
            source.notes.append("%s of %s is not UTF-8: read as %s" % (name, student, encoding))
        break
    else:
        source.text = data.decode("utf-8", errors="replace")
        source.notes.append("%s of %s is neither UTF-8 nor GB18030 text: compared with the "
                            "undecodable bytes replaced" % (name, student))
    problem = _syntax_problem(source.text)
    if problem:
        # Still compared: copydetect's tokenizer reads code that does not parse, and a
        # copy with a syntax error is still a copy.
        source.notes.append("%s of %s does not parse (%s): compared as it is"
                            % (name, student, problem))
    return source


def _syntax_problem(text):
    try:
        compile(text, "<student>", "exec", dont_inherit=True)
    except SyntaxError as error:
        return "line %s: %s" % (error.lineno, error.msg)
    except (ValueError, RecursionError, MemoryError) as error:  # NUL bytes, absurd nesting
        return type(error).__name__
    return ""


# ------------------------------------------------------------------------ comparing


#: ``self``/``cls`` as words (not inside other names): see "Two normalisations" above.
_PSEUDO_NAMES = re.compile(r"\b(self|cls)\b")


def normalised(text):
    """``text`` with its docstrings blanked and ``self``/``cls`` as plain names, every
    character where it was (the same length, the same lines)."""
    return _PSEUDO_NAMES.sub(lambda match: match.group(1).upper(), _blank_docstrings(text))


def _blank_docstrings(text):
    """``text`` with each docstring turned into spaces (its line breaks kept); a file that
    does not parse is left as it is (its docstrings cannot be told from other strings)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return text
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(lineno, col):  # ast's columns count UTF-8 bytes, not characters
        line = lines[lineno - 1] if lineno <= len(lines) else ""
        return starts[lineno - 1] + len(line.encode("utf-8")[:col].decode("utf-8", "ignore"))

    blanked = list(text)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            doc = body[0]
            for index in range(offset(doc.lineno, doc.col_offset),
                               offset(doc.end_lineno, doc.end_col_offset)):
                if blanked[index] not in "\r\n":
                    blanked[index] = " "
    return "".join(blanked)


def fingerprint(name, text, boilerplate=None, window=WINDOW):
    """copydetect's fingerprint of ``text`` (Python), ``boilerplate`` hashes removed."""
    from copydetect import CodeFingerprint
    return CodeFingerprint(name, NOISE, window, boilerplate=boilerplate, language="python",
                           fp=io.StringIO(normalised(text)))


def boilerplate_hashes(skeleton):
    """Every fingerprint of the skeleton's file of each name (window 1: all of them, as
    copydetect does for boilerplate); skeleton is a folder holding FILES."""
    import numpy
    hashes = {}
    for name in FILES:
        path = Path(skeleton) / name
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        hashes[name] = numpy.array(sorted(fingerprint(name, text, window=1).hashes))
    return hashes


def compare(sources, skeleton, exclude_skeleton=True):
    """The Similarity of ``sources`` (read_sources), with the given code of ``skeleton``
    (a folder) excluded; ``exclude_skeleton=False`` keeps it (to show what it would cost).
    ImportError when copydetect is not installed."""
    from copydetect import compare_files
    given = boilerplate_hashes(skeleton) if exclude_skeleton else {}
    students = sorted({source.student for source in sources})
    notes = [note for source in sources for note in source.notes]
    if exclude_skeleton:
        notes += ["the skeleton's %s is not in %s: its given code counts as the students' own"
                  % (name, skeleton) for name in FILES if not (Path(skeleton) / name).is_file()]
    prints, texts, printed_texts = {}, {}, {}
    for source in sources:
        if source.text is None:
            continue
        texts[(source.student, source.name)] = source.text
        key = (source.name, source.text)
        if key not in printed_texts:  # students who hand in the same file: printed once
            printed_texts[key] = fingerprint(source.name, source.text, given.get(source.name))
        printed = printed_texts[key]
        if printed.token_coverage < MIN_OWN_CODE:
            notes.append("%s of %s has too little code of its own to compare"
                         % (source.name, source.student))
            continue
        prints[(source.student, source.name)] = printed
    pairs, compared = [], {}
    for a, b in itertools.combinations(students, 2):
        pair = Pair(a, b)
        for name in FILES:
            if (a, name) in prints and (b, name) in prints:
                first, second = prints[(a, name)], prints[(b, name)]
                key = (id(first), id(second))
                if key not in compared:  # the same two texts compare the same
                    compared[key] = compare_files(first, second)
                _, (share_a, share_b), (slices_a, slices_b) = compared[key]
                pair.files.append(FileMatch(name, float(share_a), float(share_b),
                                            slices_a, slices_b))
        if pair.files:
            pairs.append(pair)
    pairs.sort(key=lambda pair: (-pair.score, pair.a, pair.b))
    return Similarity(students, pairs, texts, notes)


def groups(pairs):
    """Students linked by ``pairs``, as sorted lists, largest group first."""
    leader = {}

    def find(student):
        while leader.setdefault(student, student) != student:
            leader[student] = leader[leader[student]]
            student = leader[student]
        return student

    for pair in pairs:
        leader[find(pair.a)] = find(pair.b)
    members = {}
    for student in leader:
        members.setdefault(find(student), []).append(student)
    return sorted((sorted(group) for group in members.values()), key=lambda g: (-len(g), g))


# ------------------------------------------------------------------------ rendering


def _percent(value):
    return "%d%%" % round(100 * value)


def _best_file(pair):
    return max(pair.files, key=lambda match: match.score)


def render_text(similarity, lang="en", limit=10):
    """The most similar pairs, a line each: score, the two students, the file."""
    text = labels(lang)
    flagged = similarity.flagged()
    lines = [text["compared"] % len(similarity.students),
             text["flagged"] % (round(100 * FLAG_AT), len(flagged))]
    for pair in similarity.pairs[:limit]:
        best = _best_file(pair)
        lines.append("  %4s  %s ~ %s  (%s: %s / %s)" % (
            _percent(pair.score), pair.a, pair.b, best.name, _percent(best.share_a),
            _percent(best.share_b)))
    if not similarity.pairs:
        lines.append("  " + text["none"])
    return "\n".join(lines)


_CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse}td,th{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left}
.bar{display:inline-block;height:.8em;background:#c0392b;vertical-align:middle}
.side{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:.8em}
pre{background:#f7f7f7;padding:.6em;overflow:auto;max-height:40em;font-size:.8em;margin:0}
.hl-a{background:#f5b7b1}.hl-b{background:#abebc6}
.note{color:#666;font-size:.9em}
"""


def render_html(similarity, lang="en"):
    """similarity.html: one self-contained page (inline CSS, no script, nothing fetched);
    every student's name and code is escaped."""
    from copydetect.utils import highlight_overlap
    text = labels(lang)
    esc = html.escape
    flagged = similarity.flagged()
    out = ["<!DOCTYPE html>", '<html lang="%s"><head><meta charset="utf-8">' % esc(lang),
           "<title>%s</title><style>%s</style></head><body>" % (esc(text["title"]), _CSS),
           "<h1>%s</h1><p>%s</p>" % (esc(text["title"]), esc(text["intro"])),
           "<p>%s; %s</p>" % (esc(text["compared"] % len(similarity.students)),
                              esc(text["flagged"] % (round(100 * FLAG_AT), len(flagged))))]
    out.append("<h2>%s</h2>" % esc(text["pairs"]))
    if not similarity.pairs:
        out.append("<p>%s</p>" % esc(text["none"]))
    else:
        out.append("<table><tr><th>%s</th><th>%s</th><th></th><th>%s</th></tr>" % (
            esc(text["score"]), esc(text["students"]), esc(text["file"])))
        for number, pair in enumerate(similarity.pairs[:MAX_LISTED]):
            best = _best_file(pair)
            who = "%s ~ %s" % (esc(pair.a), esc(pair.b))
            if pair.score >= FLAG_AT and number < MAX_SIDE_BY_SIDE:
                who = '<a href="#pair-%d">%s</a>' % (number, who)
            out.append('<tr><td>%s</td><td>%s</td><td><span class="bar" style="width:%dpx">'
                       '</span></td><td>%s</td></tr>' % (_percent(pair.score), who,
                                                         round(120 * pair.score), esc(best.name)))
        out.append("</table>")
        if len(similarity.pairs) > MAX_LISTED:
            out.append("<p>%s</p>" % esc(text["more"] % (len(similarity.pairs) - MAX_LISTED)))
    linked = groups(flagged)
    if linked:
        out.append("<h2>%s</h2><ul>" % esc(text["groups"] % round(100 * FLAG_AT)))
        out += ["<li>%d: %s</li>" % (len(group), esc(", ".join(group))) for group in linked]
        out.append("</ul>")
    shown = [pair for pair in similarity.pairs[:MAX_SIDE_BY_SIDE] if pair.score >= FLAG_AT]
    if shown:
        out.append("<h2>%s</h2>" % esc(text["side"]))
    for number, pair in enumerate(shown):
        out.append('<h3 id="pair-%d">%s ~ %s: %s</h3>' % (number, esc(pair.a), esc(pair.b),
                                                         _percent(pair.score)))
        for match in sorted(pair.files, key=lambda match: -match.score):
            out.append("<p>%s: %s %s, %s %s</p>" % (
                esc(match.name), esc(text["share"] % (pair.a, pair.b)), _percent(match.share_a),
                esc(text["share"] % (pair.b, pair.a)), _percent(match.share_b)))
            if match.score < FLAG_AT:
                continue  # only what is alike is worth a side-by-side read
            out.append('<div class="side">')
            for student, slices, css in ((pair.a, match.slices_a, "hl-a"),
                                         (pair.b, match.slices_b, "hl-b")):
                code = similarity.texts[(student, match.name)]
                marked, _ = highlight_overlap(code, slices, '<span class="%s">' % css,
                                              "</span>", escape_html=True)
                out.append("<div><b>%s / %s</b><pre>%s</pre></div>" % (
                    esc(student), esc(match.name), marked))
            out.append("</div>")
    if similarity.notes:
        out.append("<h2>%s</h2><ul class=\"note\">" % esc(text["notes"]))
        out += ["<li>%s</li>" % esc(note) for note in similarity.notes]
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# -------------------------------------------------------------------- for the batch

#: The files write_similarity writes into a batch's --out folder.
HTML_NAME, TEXT_NAME = "similarity.html", "similarity.txt"

#: The given code: the skeleton handed to students, beside the grader in the kit.
SKELETON = Path(__file__).resolve().parent.parent / "skeleton"


class Written(NamedTuple):
    """What write_similarity did: the page written (None if none) and a line for the log."""

    html: Optional[Path]
    line: str


def write_similarity(out, submissions, skeleton=SKELETON, lang="en"):
    """similarity.html and similarity.txt in ``out`` for ``submissions`` ((student, folder
    or .zip) pairs), the given code of ``skeleton`` (a folder) excluded; returns Written.

    Never raises for the class's code: without copydetect the line says the report was
    skipped and how to get it; a failure inside copydetect is reported in the line. Either
    way the files of an earlier run are removed, so nothing links to a stale report."""
    text = labels(lang)
    out = Path(out)
    try:
        import copydetect  # noqa: F401  (only to know whether it is there)
    except ImportError:
        return Written(None, _remove_stale(out, text["skipped"]))
    try:
        similarity = compare(read_sources(submissions), skeleton)
        page = render_html(similarity, lang)
    except Exception as error:  # noqa: BLE001
        # Whatever copydetect or numpy raise on a class's code, the grading is done and
        # written by now: say the report failed and why rather than end the batch.
        return Written(None, _remove_stale(out, text["failed"] % (
            "%s: %s" % (type(error).__name__, error))))
    write_atomic(out / HTML_NAME, page)
    write_atomic(out / TEXT_NAME, render_text(similarity, lang, limit=MAX_LISTED) + "\n")
    return Written(out / HTML_NAME, text["written"] % (
        out / HTML_NAME, len(similarity.students), round(100 * FLAG_AT),
        len(similarity.flagged())))


def _remove_stale(out, line):
    for name in (HTML_NAME, TEXT_NAME):
        try:
            (out / name).unlink()
        except OSError:
            pass  # not there (the usual case)
    return line
