"""The SQLite database backend of the embedded set-up (`make run`, the tests without PostgreSQL),
with money exact: see base.py."""
