"""The photographer's per-photo publishing choices (keywords.py): pure, no I/O."""
