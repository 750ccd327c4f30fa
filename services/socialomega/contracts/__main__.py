"""`python -m socialomega.contracts`: regenerate services/schemas/ and CONTRACTS.md's event section."""

from socialomega.contracts.generate import write

for path in write():
    print(f"wrote {path}")
