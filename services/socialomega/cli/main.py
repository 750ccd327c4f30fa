"""`socialomega`: the operator command (the console script of services/pyproject.toml).

It needs click, which the `ops` extra installs (and `dev`); the Lambda images do not carry it.
Without it this says so instead of a traceback.
"""

from __future__ import annotations

import sys

MISSING_CLICK = (
    "socialomega: the operator command needs click, from the package's `ops` extra: "
    "pip install 'socialomega[ops]' (in a checkout: .venv/bin/pip install -e 'services[dev]')"
)


def main(argv: list[str] | None = None) -> int:
    try:
        import click  # noqa: F401  (only to know it is there)
    except ImportError:
        print(MISSING_CLICK, file=sys.stderr)
        return 2
    from socialomega.cli.commands import cli

    try:
        cli.main(args=argv, prog_name="socialomega")
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
