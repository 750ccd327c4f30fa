"""`python -m socialomega.replay --from <iso> --to <iso> [--type T ...] [--asset ID] [--target NAME]
[--dry-run] [--env NAME]`: re-send logged events to their original destinations (replayer.py).

Where things are: the services' own configuration, the SO_* environment variables
(core/config.Settings: SO_STORE_BUCKET for the log, SO_IMAGES_QUEUE_URL, SO_PUBLISH_TOPIC_ARN,
SO_EVENT_BUS), as Terraform gives them to the functions; or, with `--env NAME`, a local stack's:
the outputs of terraform/envs/local in workspace NAME, on LocalStack, as `python -m
socialomega.local` reads them. Exit status 1 when a record could not be read or a send failed
(what was sent is printed; running it again is safe), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import sys

from socialomega.analytics.eventlog import LOGGED_TYPES
from socialomega.core import config
from socialomega.core.aws import Clients
from socialomega.replay.replayer import Replayer, Selection


def parser(prog: str = "python -m socialomega.replay", with_env: bool = True) -> argparse.ArgumentParser:
    """The replay's options, one definition for both entry points: this module and `socialomega
    replay` (cli/commands.py), which finds the environment itself (`with_env=False`)."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Re-send logged events (by when they occurred) to where their producers sent them.",
    )
    p.add_argument("--from", dest="start", required=True, help="ISO date or time, UTC unless given (inclusive)")
    p.add_argument("--to", dest="end", required=True, help="ISO date (the whole day) or time (inclusive)")
    p.add_argument(
        "--type",
        dest="types",
        action="extend",
        nargs="+",
        choices=LOGGED_TYPES,
        metavar="TYPE",
        help=f"only these event types (default: all): {', '.join(LOGGED_TYPES)}",
    )
    p.add_argument("--asset", help="only this photo's events (asset id)")
    p.add_argument("--target", help="only this target's events (leaves out AssetDetected, which names none)")
    p.add_argument("--dry-run", action="store_true", help="count what would be re-sent, send nothing")
    if with_env:
        p.add_argument(
            "--env", help="a local stack: terraform/envs/local's workspace (e.g. local); default: SO_* variables"
        )
    return p


def parse(p: argparse.ArgumentParser, argv: list[str] | None) -> tuple[argparse.Namespace, Selection]:
    """The options and the selection they make; a bad one exits 2 with argparse's message."""
    args = p.parse_args(argv)
    try:
        selection = Selection.parse(args.start, args.end, args.types, args.asset, args.target)
    except ValueError as exc:
        p.error(str(exc))
    return args, selection


def main(argv: list[str] | None = None) -> int:
    args, selection = parse(parser(), argv)
    if args.env:
        _use_local_stack(args.env)
    try:
        settings = config.Settings.from_env()
    except config.ConfigError as exc:
        print(f"{exc} (run with --env NAME for a local stack)", file=sys.stderr)
        return 2
    report = Replayer.build(settings, Clients.default()).replay(selection, dry_run=args.dry_run)
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


def _use_local_stack(env: str) -> None:
    """The local stack's configuration, as `python -m socialomega.local` sets it up. Imported
    here only: the operator's entry point knows local mode; the replayer itself does not."""
    from socialomega.local import localstack, terraform
    from socialomega.local.runtime import apply_service_env

    if not localstack.healthy():
        sys.exit(f"LocalStack is not running at {localstack.ENDPOINT}: nothing to replay (run `make demo` first)")
    apply_service_env(terraform.outputs_for(env), localstack.ENDPOINT)


if __name__ == "__main__":
    sys.exit(main())
