"""The integration suite's stack fixtures (`sandbox`, `stack`, `runtime`, `first_run`) are in
tests/conftest.py, shared with the security tier's secrets suite."""
