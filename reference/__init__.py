"""Reference solutions of the lab and the instructor servers (echo on 10000, hub on 10001)."""
