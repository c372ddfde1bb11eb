"""Partial credit inside a check: plain data and functions, no sockets, no processes.

A check may declare scored *parts* on its marker, the way a TA splits the points of one
question ("closes the connection" 3, "announces who left" 3, "ends" 1)::

    @pytest.mark.check(points=7, zh="...", parts=[
        Part("closes", 3, "关闭连接", "closes the connection"),
        Part("announces", 3, "宣布客户端离开", "announces that the client left"),
        Part("ends", 1, "程序结束", "the program ends")])

and judges each one inside ``with lab.part("closes"): ...``. A part whose block raises a
student failure (a ``Finding``, a missed wait) scores 0 and the check goes on with the next
part; a part never reached (the check failed before it) is *skipped* and scores 0 too.

Rules of this module: the points of a check are the sum of its parts' points (checked when
the checks are loaded, so a typo cannot change the rubric silently); a check's score is the
sum of the points of its passed parts; the order of the parts is the order of the report.
"""

from collections import namedtuple

#: One scored part of a check: ``id`` (stable, used in reports), ``points``, and the part's
#: title in Chinese and English ("what passes").
Part = namedtuple("Part", "id points zh en")

PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"


class RubricError(ValueError):
    """A check's declared parts do not add up (the grader's mistake, not the student's)."""


def check_parts(name, points, parts):
    """Raise RubricError unless ``parts`` are well formed and add up to ``points``."""
    ids = [part.id for part in parts]
    if len(set(ids)) != len(ids):
        raise RubricError("%s: two parts share an id: %s" % (name, ids))
    total = sum(part.points for part in parts)
    if parts and abs(total - points) > 1e-9:
        raise RubricError("%s: parts add up to %g, the check is worth %g" % (name, total, points))


def part_statuses(parts, outcomes):
    """``[(part, status)]`` in declaration order, from ``outcomes``: part id -> True (passed)
    or False (failed); a part missing from ``outcomes`` was never reached."""
    return [(part, SKIPPED if part.id not in outcomes else PASSED if outcomes[part.id] else FAILED)
            for part in parts]
