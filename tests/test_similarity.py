"""grader/similarity.py: a copy is found however it is disguised, honest work is not, and the
skeleton's given code never makes two students alike.

The copy is made from a corpus submission by renaming every identifier the student chose
(``self`` too) and deleting every comment and docstring; the honest solutions are the
reference and an independent completion of the same skeleton written below.
"""

import ast
import os
import builtins
import importlib.util
import io
import sys
import tokenize
import zipfile
from pathlib import Path

import pytest

from grader import similarity
from grader.similarity import FLAG_AT

#: Every test but the one about its absence needs copydetect (the similarity extra).
needs_copydetect = pytest.mark.skipif(importlib.util.find_spec("copydetect") is None,
                                      reason="copydetect is not installed: " +
                                             similarity.INSTALL_HINT)

ROOT = Path(__file__).resolve().parent.parent
SKELETON = ROOT / "skeleton"
CORPUS = ROOT / "tests" / "submissions"
REFERENCE = ROOT / "reference"
VARIANTS = REFERENCE / "variants"


def read(path):
    return Path(path).read_text(encoding="utf-8")


def make_class(folder, students):
    """``students``: name -> {file name: text or bytes}; returns (student, folder) pairs."""
    pairs = []
    for student, files in students.items():
        home = folder / student
        home.mkdir(parents=True)
        for name, content in files.items():
            if isinstance(content, bytes):
                (home / name).write_bytes(content)
            else:
                (home / name).write_text(content, encoding="utf-8")
        pairs.append((student, home))
    return pairs


def compared(folder, students, **options):
    return similarity.compare(similarity.read_sources(make_class(folder, students)), SKELETON,
                              **options)


def score(result, a, b):
    a, b = sorted((a, b))
    return next(pair.score for pair in result.pairs if (pair.a, pair.b) == (a, b))


# ------------------------------------------------------------------ the disguised copy


def chosen_names(source):
    """Every identifier the author chose: what they assign, define, take as an argument
    (``self`` included), catch as or import as. Built-ins and the names of modules and of
    library attributes are not theirs to choose."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.alias) and node.asname:
            names.add(node.asname)
    return names - set(dir(builtins))


def docstring_starts(source):
    """(line, column) of every docstring, and whether it is its body's only statement."""
    starts = {}
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            starts[(body[0].lineno, body[0].col_offset)] = len(body) == 1
    return starts


def disguise(source):
    """``source`` with every chosen identifier renamed (consistently, so it still runs) and
    every comment and docstring deleted; returns (copy, the renaming)."""
    renamed = {name: "q%d_%s" % (number, name[::-1].strip("_"))
               for number, name in enumerate(sorted(chosen_names(source)))}
    docstrings = docstring_starts(source)
    tokens = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            token = token._replace(string="")
        elif token.type == tokenize.STRING and token.start in docstrings:
            token = token._replace(string="pass" if docstrings[token.start] else "")
        elif token.type == tokenize.NAME and token.string in renamed:
            token = token._replace(string=renamed[token.string])
        tokens.append(token)
    return tokenize.untokenize(tokens), renamed


@needs_copydetect
def test_the_disguise_renames_every_identifier_and_strips_every_comment():
    # The copy must be a thorough disguise, or the next test proves nothing.
    original = read(CORPUS / "hub-no-relay" / "chat_server.py")
    copy, renamed = disguise(original)
    ast.parse(copy)  # still a program
    assert {"self", "hub_msg_process", "ip_client", "conn"} <= set(renamed)
    names = {token.string for token in tokenize.generate_tokens(io.StringIO(copy).readline)
             if token.type == tokenize.NAME}
    assert not names & set(renamed)
    kinds = [token.type for token in tokenize.generate_tokens(io.StringIO(copy).readline)]
    assert tokenize.COMMENT not in kinds
    assert docstring_starts(copy) == {}
    assert "#" in original and '"""' in original


@pytest.mark.slow
@needs_copydetect
@pytest.mark.parametrize("slug", ["hub-no-relay", "client-bare-except"])
def test_renamed_identifiers_and_removed_comments_do_not_hide_a_copy(tmp_path, slug):
    variant = next(path for path in (CORPUS / slug).iterdir() if path.suffix == ".py")
    other = {"chat_client.py": VARIANTS / "selectors_client.py",
             "chat_server.py": VARIANTS / "selectors_server.py"}[variant.name]
    copy, _ = disguise(read(variant))
    result = compared(tmp_path, {"original": {variant.name: read(variant)},
                                 "copier": {variant.name: copy},
                                 "honest": {variant.name: read(other)}})
    top = result.pairs[0]
    assert (top.a, top.b) == ("copier", "original")
    assert top.score >= 0.9, top
    assert score(result, "honest", "original") < FLAG_AT
    assert score(result, "copier", "honest") < FLAG_AT


# --------------------------------------------------- honest work and the skeleton's code


#: An independent completion of the skeleton's client: each TODO's placeholder replaced by
#: code written differently from the reference (other names, other control flow).
OWN_CLIENT = [
    """family, kind = socket.AF_INET, socket.SOCK_STREAM
self.client = socket.socket(family, kind)""",
    """where = (self.ip, self.port)
try:
    self.client.connect(where)
except ConnectionRefusedError:
    print('连接失败: 服务器没有开 (connection refused)')
    sys.exit(1)
except OSError as problem:
    print('连接失败:', problem)
    sys.exit(1)""",
    """keep_going = True
while keep_going:
    try:
        line = input()
    except (EOFError, KeyboardInterrupt):
        line = 'q'
    payload = line.encode('utf-8')
    if payload:
        try:
            self.client.sendall(payload)
        except OSError:
            return
    keep_going = line != 'q'
try:
    self.client.shutdown(socket.SHUT_RDWR)
except OSError:
    pass
self.client.close()""",
    """utf8 = codecs.getincrementaldecoder('utf-8')()
chunks = 0
while True:
    try:
        chunk = self.client.recv(BUFFER_SIZE)
    except OSError:
        chunk = b''
    if chunk == b'':
        break
    chunks += 1
    shown = utf8.decode(chunk)
    sys.stdout.write(shown + '\\n')
    sys.stdout.flush()
print('聊天已结束')""",
]

DELETE_ME = "delete the line below once the TODO is done"


def complete_skeleton(text, completions):
    """The skeleton ``text`` with the placeholder under each TODO replaced, in order."""
    lines, out, fills = text.splitlines(), [], iter(completions)
    index = 0
    while index < len(lines):
        line = lines[index]
        if DELETE_ME in line:
            placeholder = lines[index + 1]
            indent = placeholder[:len(placeholder) - len(placeholder.lstrip())]
            out += [indent + code for code in next(fills).splitlines()]
            index += 2
            continue
        out.append(line)
        index += 1
    assert next(fills, None) is None, "a completion was left over"
    return "\n".join(out) + "\n"


def own_client():
    code = complete_skeleton(read(SKELETON / "chat_client.py"), OWN_CLIENT)
    ast.parse(code)
    assert "NotImplementedError('" not in code
    return code


@needs_copydetect
def test_two_independent_honest_solutions_score_low(tmp_path):
    result = compared(tmp_path, {
        "reference": {"chat_client.py": read(REFERENCE / "chat_client.py"),
                      "chat_server.py": read(REFERENCE / "chat_server.py")},
        "own": {"chat_client.py": own_client()},
        "selectors": {"chat_client.py": read(VARIANTS / "selectors_client.py"),
                      "chat_server.py": read(VARIANTS / "selectors_server.py")},
        "asyncio": {"chat_server.py": read(VARIANTS / "asyncio_hub.py")}})
    assert len(result.pairs) == 5  # own and asyncio hand in no file in common
    assert result.flagged() == [], result.pairs[0]


@needs_copydetect
def test_the_skeletons_given_code_alone_does_not_make_two_students_alike(tmp_path):
    students = {"reference": {"chat_client.py": read(REFERENCE / "chat_client.py")},
                "own": {"chat_client.py": own_client()}}
    excluded = compared(tmp_path / "excluded", students)
    kept = compared(tmp_path / "kept", students, exclude_skeleton=False)
    assert score(excluded, "own", "reference") < FLAG_AT
    # Not a vacuous pass: with the given code counted the same two look alike.
    assert score(kept, "own", "reference") >= FLAG_AT


@needs_copydetect
def test_untouched_skeletons_are_not_compared(tmp_path):
    skeleton = {name: read(SKELETON / name) for name in similarity.FILES}
    result = compared(tmp_path, {"a": skeleton, "b": dict(skeleton)})
    assert result.pairs == []
    assert len([note for note in result.notes if "too little code of its own" in note]) == 4


# -------------------------------------------------------------- what students hand in


@needs_copydetect
def test_a_file_in_gbk_or_that_does_not_parse_is_still_compared(tmp_path):
    server = read(REFERENCE / "chat_server.py")
    broken = server.replace("def hub_msg_process(self", "def hub_msg_process(self:", 1)
    garbage = server.encode("utf-8").replace("聊天".encode("utf-8"), b"\xff\xfe\xfd")
    result = compared(tmp_path, {"utf8": {"chat_server.py": server},
                                 "gbk": {"chat_server.py": server.encode("gbk")},
                                 "broken": {"chat_server.py": broken},
                                 "garbage": {"chat_server.py": garbage}})
    notes = "\n".join(result.notes)
    assert "chat_server.py of gbk is not UTF-8: read as gb18030" in notes
    assert "chat_server.py of broken does not parse (line" in notes
    assert "chat_server.py of garbage is neither UTF-8 nor GB18030" in notes
    assert score(result, "gbk", "utf8") >= 0.99
    assert score(result, "broken", "utf8") >= 0.9
    assert score(result, "garbage", "utf8") >= 0.9


@needs_copydetect
def encrypted_flag(data):
    """A zip's bytes with every member marked encrypted (general-purpose flag bit 0, in the
    local and the central headers), as a zip made with a password is: zipfile then refuses
    to read the member without one (Python's zipfile cannot write such a zip itself)."""
    data = bytearray(data)
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        while start != -1:
            data[start + flag_at] |= 0x1
            start = data.find(signature, start + 4)
    return bytes(data)


def test_a_zip_is_read_like_a_folder_and_a_huge_file_is_left_out(tmp_path):
    archive = tmp_path / "zipped.zip"
    with zipfile.ZipFile(str(archive), "w") as handle:
        handle.writestr("__MACOSX/work/chat_client.py", "junk")
        handle.writestr("work/deeper/chat_client.py", "not this one")
        handle.writestr("work/chat_client.py", read(REFERENCE / "chat_client.py"))
    huge = tmp_path / "huge"
    huge.mkdir()
    (huge / "chat_client.py").write_text("x = 1\n" * 200000, encoding="utf-8")
    locked = tmp_path / "locked.zip"
    with zipfile.ZipFile(str(locked), "w") as handle:
        handle.writestr("chat_client.py", b"x = 1\n")
    locked.write_bytes(encrypted_flag(locked.read_bytes()))
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    plain = make_class(tmp_path / "class", {
        "plain": {"chat_client.py": read(REFERENCE / "chat_client.py")}})
    sources = similarity.read_sources(plain + [("zipped", archive), ("huge", huge),
                                               ("locked", locked), ("broken", broken)])
    result = similarity.compare(sources, SKELETON)
    assert [(pair.a, pair.b) for pair in result.pairs] == [("plain", "zipped")]
    assert result.pairs[0].score == 1.0
    notes = "\n".join(result.notes)
    assert "huge: cannot read chat_client.py: larger than" in notes
    assert "locked: cannot read chat_client.py:" in notes
    assert "broken: cannot read chat_client.py:" in notes


# --------------------------------------------------------------------------- the outputs


HOSTILE = "</pre><script>alert(1)</script>"


@needs_copydetect
def test_the_page_is_self_contained_and_escapes_names_and_code(tmp_path):
    client = read(REFERENCE / "chat_client.py") + "\n# %s </textarea>\n" % HOSTILE
    result = compared(tmp_path, {"<script>x</script>": {"chat_client.py": client},
                                 "b&b": {"chat_client.py": client}})
    page = similarity.render_html(result, "en")
    assert "<script" not in page.lower()
    assert "</textarea>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "b&amp;b" in page
    assert "http://" not in page and "https://" not in page and "src=" not in page
    assert page.count('<div class="side">') == 1
    assert '<span class="hl-a">' in page and '<span class="hl-b">' in page


@needs_copydetect
def test_write_similarity_writes_both_files_in_either_language(tmp_path):
    pairs = make_class(tmp_path / "class", {
        "s1": {"chat_server.py": read(REFERENCE / "chat_server.py")},
        "s2": {"chat_server.py": read(REFERENCE / "chat_server.py")}})
    written = similarity.write_similarity(tmp_path / "out", pairs, SKELETON, lang="zh")
    assert written.html == tmp_path / "out" / "similarity.html"
    line = written.line
    assert line.startswith("相似度报告: ") and "相似度 50% 及以上的学生对: 1" in line
    text = (tmp_path / "out" / "similarity.txt").read_text(encoding="utf-8")
    assert "100%  s1 ~ s2  (chat_server.py: 100% / 100%)" in text
    page = (tmp_path / "out" / "similarity.html").read_text(encoding="utf-8")
    assert '<html lang="zh">' in page and "并排对照" in page


def test_without_copydetect_the_report_is_skipped_and_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "copydetect", None)  # import copydetect -> ImportError
    pairs = make_class(tmp_path / "class", {"s1": {"chat_client.py": "x = 1\n"}})
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "similarity.html").write_text("an earlier run's", encoding="utf-8")
    written = similarity.write_similarity(tmp_path / "out", pairs, SKELETON)
    assert written == (None, similarity.LABELS["en"]["skipped"])
    assert "pip install 'socket-lab[similarity]'" in written.line
    assert list((tmp_path / "out").iterdir()) == []  # nothing stale left to link to


SCORES_SCRIPT = """
import json, sys
from pathlib import Path
from grader import similarity
students = [(path.name, path) for path in sorted(Path(sys.argv[1]).iterdir())]
result = similarity.compare(similarity.read_sources(students), sys.argv[2])
print(json.dumps([[pair.a, pair.b, pair.score] for pair in result.pairs]))
"""


@needs_copydetect
@pytest.mark.slow
def test_scores_are_the_same_in_every_process(tmp_path):
    # copydetect hashes with Python's hash(), which each process seeds differently.
    import json
    import os
    import subprocess
    make_class(tmp_path / "class", {
        "reference": {"chat_client.py": read(REFERENCE / "chat_client.py")},
        "own": {"chat_client.py": own_client()},
        "selectors": {"chat_client.py": read(VARIANTS / "selectors_client.py")}})
    runs = []
    for seed in ("1", "2", "3"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run([sys.executable, "-c", SCORES_SCRIPT, str(tmp_path / "class"),
                               str(SKELETON)], cwd=str(ROOT), env=env, stdout=subprocess.PIPE,
                              timeout=120, check=True)
        runs.append(json.loads(done.stdout.decode("utf-8")))
    assert runs[0] == runs[1] == runs[2]
    assert len(runs[0]) == 3


@needs_copydetect
def test_without_the_skeleton_the_report_says_the_given_code_counted(tmp_path):
    result = compared(tmp_path, {"a": {"chat_client.py": read(REFERENCE / "chat_client.py")}})
    assert result.notes == []
    pairs = make_class(tmp_path / "class", {"a": {"chat_client.py": "x = 1\n"}})
    result = similarity.compare(similarity.read_sources(pairs), tmp_path / "nowhere")
    assert len([note for note in result.notes if "counts as the students' own" in note]) == 2


@pytest.mark.skipif(os.name != "posix", reason="symlinks and FIFOs as a student leaves them")
def test_a_students_link_or_fifo_is_reported_never_read(tmp_path):
    """The instructor's process reads these files: a link to a secret must not put the
    secret in the report, and a FIFO must not hang the batch."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LINE\\n", encoding="utf-8")
    linker = tmp_path / "class" / "linker"
    linker.mkdir(parents=True)
    (linker / "chat_client.py").symlink_to(secret)
    os.mkfifo(str(linker / "chat_server.py"))
    found = similarity.read_sources([("linker", linker)])
    assert [(one.name, one.text) for one in found] == [
        ("chat_client.py", None), ("chat_server.py", None)]
    assert all("not a regular file" in " ".join(one.notes) for one in found)
    assert "TOP-SECRET" not in repr(found)
