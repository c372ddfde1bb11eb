"""Files the grader writes for others to read: each one whole or not at all.

    write_atomic    write a text file (UTF-8) so that no reader ever sees half of it

Reports, Gradescope's results.json, a batch's results and its summary are read by
people and programs that may look while the grader writes, or after it was interrupted;
every one of them is written here.
"""

import os
import tempfile
from pathlib import Path


def write_atomic(path, text):
    """Write ``text`` to ``path`` as UTF-8, atomically; parent directories are created.

    The text goes to a temporary file in the same directory first and replaces ``path``
    in one step, so a reader (or a crash) never sees half a file. Returns the Path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=str(path.parent), prefix="." + path.name + ".",
                                     suffix=".tmp")
    try:
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide reports from co-workers
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, str(path))
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    return path
