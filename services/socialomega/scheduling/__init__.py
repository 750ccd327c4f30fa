"""When each post of a target goes out: posting slots (slots.py), the planner that gives each
ready photo its target's next free slot within the platform's quotas (planner.py), and the
schedule clock tests use to compress time (clock.py). Pure: no I/O, no AWS."""
