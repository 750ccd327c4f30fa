"""The `socialomega` operator command (main.py, commands.py) and the operator's views of an environment.

Only commands.py imports click (the `ops` extra); the domain modules here (status.py,
dead_letters.py, health.py, output.py) do not, so local mode (local/report.py, local/ops.py)
reuses them without it.
"""
