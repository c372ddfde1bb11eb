"""The options a bundle was built with, stored in the bundle: ``grader/bundle_options.json``.

    python -m grader gradescope --visibility hub_room_full=after_due_date --rate-limit 3/24

writes this file into the zip (never into the checkout, which has none: there every check
is as its marker says and nothing is rate limited). Read by the pytest plugin (each check's
visibility, through :func:`visibility_overrides`) and by ``grader/gradescope_limit.py`` (the
rate limit, :func:`rate_limit`), so one file configures what students see and how often
they may submit, and batch inside the bundle grades with the same visibilities.

    {"visibility": {"hub_room_full": "after_due_date"},
     "rate_limit": {"submissions": 3, "hours": 24}}

A file that cannot be read or is not such an object is the grader's error (ValueError with
the file's name), never silently ignored: a bundle built with hidden checks must not show
them because its options were lost.
"""

import json
from pathlib import Path

from .results import check_visibility

#: Where the options live, relative to the folder that holds the ``grader`` package.
OPTIONS_PATH = "grader/bundle_options.json"


def options_file(root=None):
    """The options file of the copy of the grader at ``root`` (default: this one)."""
    base = Path(root) if root is not None else Path(__file__).resolve().parent.parent
    return base / OPTIONS_PATH


def read_options(path=None):
    """The options in ``path`` (default: this copy's file) as a dict; {} when there is no
    file. ValueError naming the file when it is unreadable or malformed."""
    path = Path(path) if path is not None else options_file()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ValueError("%s: cannot be read as JSON: %s" % (path, error))
    if not isinstance(data, dict):
        raise ValueError("%s: expected a JSON object" % path)
    validate(data, str(path))
    return data


def validate(data, where):
    """ValueError unless ``data`` is a well-formed options object (see the module's docstring)."""
    visibility = data.get("visibility", {})
    if not isinstance(visibility, dict):
        raise ValueError("%s: visibility must be an object of check id -> visibility" % where)
    for check, value in visibility.items():
        check_visibility(value, "%s (%s)" % (where, check))
    limit = data.get("rate_limit")
    if limit is not None:
        if not isinstance(limit, dict) or not _positive_int(limit.get("submissions")) \
                or not _positive_number(limit.get("hours")):
            raise ValueError("%s: rate_limit is {\"submissions\": N >= 1, \"hours\": H > 0}" % where)


def _positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _positive_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def visibility_overrides(path=None):
    """Check id -> visibility, from the options (empty without a file)."""
    return dict(read_options(path).get("visibility", {}))


def rate_limit(path=None):
    """``(submissions, hours)`` from the options, or None: no rate limit (the default)."""
    limit = read_options(path).get("rate_limit")
    return (limit["submissions"], float(limit["hours"])) if limit else None


def render(visibility=None, rate_limit=None):
    """The text of an options file: ``visibility`` (check id -> visibility) and
    ``rate_limit`` (``(submissions, hours)`` or None)."""
    data = {"visibility": dict(sorted((visibility or {}).items()))}
    if rate_limit is not None:
        data["rate_limit"] = {"submissions": rate_limit[0], "hours": rate_limit[1]}
    validate(data, "the bundle's options")
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
