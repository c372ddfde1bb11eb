"""Generate the students' skeleton files from the reference solutions.

One source, two versions (the idea of nbgrader's solution markers). In a reference file:

* ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` encloses a solution block. Its first
  lines are ``###`` comments: the task (``### TODO: ...``), an English line under it, and
  hints (``### 提示N: ...``, each with an English line under it). Then an optional
  ``### PLACEHOLDER: CODE`` line: the code the skeleton runs in place of the solution
  (``pass``, ``self.client = None``; empty for none). Without one the placeholder raises
  ``NotImplementedError`` naming the task, which the skeleton's given code reports in
  one line. Then the solution code.
* Any other line whose text starts with ``###`` is a note for instructors and is dropped.
* Every other line is given code and is copied to the skeleton byte for byte.

In the skeleton each block becomes a TODO block: the task and hints between two rule
lines, then the placeholder. Run ``python -m reference.make_skeleton`` to regenerate
``skeleton/``; ``--check`` only compares and exits 1 when a skeleton is out of date.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The reference files and the skeleton files generated from them.
PAIRS = [
    (ROOT / "reference" / "chat_client.py", ROOT / "skeleton" / "chat_client.py"),
    (ROOT / "reference" / "chat_server.py", ROOT / "skeleton" / "chat_server.py"),
]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
PLACEHOLDER = "### PLACEHOLDER:"
RULE = "#" + "-" * 70
DELETE_ME = "# 完成上面的TODO后删掉下面这一行 / delete the line below once the TODO is done"


class SkeletonError(ValueError):
    """The markers of a reference file are malformed; the message names the line."""


def _todo_block(header, placeholder, indent, where):
    """The skeleton text of one solution block."""
    if not header or not header[0].startswith("### TODO:"):
        raise SkeletonError("%s: a solution block must open with a '### TODO:' line" % where)
    lines = [indent + RULE]
    lines += [indent + "#" + text[3:] for text in header]
    lines.append(indent + RULE)
    if placeholder is None:
        task = header[0][len("### TODO:"):].strip()
        english = header[1][3:].strip() if len(header) > 1 and not header[1].startswith("### 提示") else ""
        message = task + (" / " + english if english else "")
        lines += [indent + DELETE_ME, indent + "raise NotImplementedError(%r)" % message]
    elif placeholder:
        lines += [indent + DELETE_ME, indent + placeholder]
    return lines


def make_skeleton(source, name="<reference>"):
    """Return the skeleton text generated from the text of a reference file."""
    out = []
    block = None  # while inside a solution block: {"start", "indent", "header", "placeholder", "code"}
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        where = "%s:%d" % (name, number)
        if stripped == BEGIN:
            if block is not None:
                raise SkeletonError("%s: BEGIN SOLUTION inside the block opened at line %d"
                                    % (where, block["start"]))
            block = {"start": number, "indent": line[:len(line) - len(line.lstrip())],
                     "header": [], "placeholder": None, "code": False}
        elif stripped == END:
            if block is None:
                raise SkeletonError("%s: END SOLUTION without a BEGIN SOLUTION" % where)
            if not block["code"]:
                raise SkeletonError("%s: the solution block opened at line %d has no code"
                                    % (where, block["start"]))
            out += _todo_block(block["header"], block["placeholder"], block["indent"],
                               "%s:%d" % (name, block["start"]))
            block = None
        elif block is not None:
            if stripped.startswith(PLACEHOLDER) and not block["code"]:
                block["placeholder"] = stripped[len(PLACEHOLDER):].strip()
            elif stripped.startswith("###") and not block["code"]:
                block["header"].append(stripped)
            elif stripped:
                block["code"] = True
        elif not stripped.startswith("###"):
            out.append(line)
    if block is not None:
        raise SkeletonError("%s: the solution block opened at line %d is never closed"
                            % (name, block["start"]))
    return "\n".join(out) + "\n"


def generate(pairs=None):
    """Yield (skeleton path, generated text, current text or None) for each reference file."""
    for reference, skeleton in PAIRS if pairs is None else pairs:
        text = make_skeleton(reference.read_text(encoding="utf-8"), reference.name)
        current = skeleton.read_text(encoding="utf-8") if skeleton.exists() else None
        yield skeleton, text, current


def _shown(path):
    try:
        return path.relative_to(ROOT)
    except ValueError:
        return path


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m reference.make_skeleton",
        description="Regenerate skeleton/ from the solution markers in reference/.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a committed skeleton is out of date")
    args = parser.parse_args(argv)
    try:
        results = list(generate())
    except SkeletonError as error:
        print("make_skeleton: %s" % error, file=sys.stderr)
        return 2
    stale = [path for path, text, current in results if text != current]
    if args.check:
        for path in stale:
            print("out of date: %s (run python -m reference.make_skeleton)" % _shown(path))
        return 1 if stale else 0
    for path, text, current in results:
        if text != current:
            path.parent.mkdir(parents=True, exist_ok=True)
            # newline="\n": the same bytes on every platform, so --check agrees everywhere
            with open(path, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
        print("%s %s" % ("wrote" if text != current else "unchanged", _shown(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
