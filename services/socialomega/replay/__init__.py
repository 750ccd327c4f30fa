"""Replay of the event log: `python -m socialomega.replay --from ... --to ...` (replayer.py)."""
