"""The instructor's secret copy: the reference solutions (``chat_client.py``, ``chat_server.py``),
the variants built differently (``variants/``) and the skeleton generator (``make_skeleton.py``).

Never shipped: the Gradescope bundle and the students' kit hold ``grader/`` and ``classroom/``
(the classroom servers), never this package (``tests/test_layout.py`` checks it).
"""
