"""The grader's checks: pytest tests, one module per part (client, p2p, hub). See conftest.py."""
