"""Fixtures of the grader's checks.

A check is one plain pytest function::

    @pytest.mark.check(points=7, zh="你的客户端能……吗?")
    def check_client_does_something(lab):
        \"\"\"Does your client do something?\"\"\"
        ...

``points`` is what the check is worth, ``zh`` its question in Chinese and the docstring's
first line the same question in English. The ``lab`` fixture starts the student's programs,
the grader's peers and classroom servers, and ends them all when the check ends. A check
fails with ``grader.lab.fail(...)`` (or any AssertionError, such as a wait that timed out);
any other exception is the grader's own error, never the student's zero.
"""

import pytest

from grader.lab import Lab
from grader.plugin import LAB, PLUGIN


@pytest.fixture
def lab(request):
    grader = request.config.stash.get(PLUGIN, None)
    if grader is None:
        pytest.fail("the checks run under the grader: python -m grader", pytrace=False)
    world = Lab(grader.settings, grader.workdir, stuck_starts=grader.stuck_starts,
                ports=grader.ports)
    request.node.stash[LAB] = world  # the plugin reads the evidence from here
    yield world
    world.close()
