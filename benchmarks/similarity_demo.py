"""The similarity report's README example, made again: four students, one of whom handed in
a copy of another's server with every identifier renamed and every comment and docstring
removed (the disguise tests/test_similarity.py proves the report sees through).

    python benchmarks/similarity_demo.py --out /tmp/similarity-demo

    li-wei     a corpus submission (tests/submissions/hub-no-relay's server, the reference's client)
    zhang-min  li-wei's server disguised; a client completed from the skeleton independently
    chen-jie   the selectors variants (reference/variants/), written differently throughout
    wang-fang  the asyncio hub (and no client)

Prints similarity.txt; similarity.html is beside it (docs/similarity-pair.png is its
side-by-side view, taken with headless Chromium).
"""

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import similarity  # noqa: E402
from tests.test_similarity import disguise, own_client  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="similarity-demo", metavar="DIR")
    parser.add_argument("--lang", choices=("en", "zh"), default="en")
    args = parser.parse_args()
    out = Path(args.out)
    shutil.rmtree(str(out), ignore_errors=True)
    corpus, variants = ROOT / "tests" / "submissions", ROOT / "reference" / "variants"
    server = (corpus / "hub-no-relay" / "chat_server.py").read_text(encoding="utf-8")
    students = {
        "li-wei": {"chat_client.py": (ROOT / "reference" / "chat_client.py").read_text(encoding="utf-8"),
                   "chat_server.py": server},
        "zhang-min": {"chat_client.py": own_client(), "chat_server.py": disguise(server)[0]},
        "chen-jie": {"chat_client.py": (variants / "selectors_client.py").read_text(encoding="utf-8"),
                     "chat_server.py": (variants / "selectors_server.py").read_text(encoding="utf-8")},
        "wang-fang": {"chat_server.py": (variants / "asyncio_hub.py").read_text(encoding="utf-8")},
    }
    pairs = []
    for student, files in students.items():
        home = out / "class" / student
        home.mkdir(parents=True)
        for name, text in files.items():
            (home / name).write_text(text, encoding="utf-8")
        pairs.append((student, home))
    written = similarity.write_similarity(out, pairs, lang=args.lang)
    print(written.line)
    print((out / similarity.TEXT_NAME).read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
