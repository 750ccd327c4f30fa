"""`python -m socialomega.local demo|run|dlq|redrive`: local mode entry points."""

from __future__ import annotations

import argparse
import sys
import time

from socialomega.core import logging as solog
from socialomega.local import localstack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m socialomega.local")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="one pipeline run over the sandbox, then the result table")
    demo.add_argument("--env", default="local")
    demo.add_argument("--timeout", type=float, default=240.0)
    run = sub.add_parser("run", help="run the local Lambda runtime until interrupted")
    run.add_argument("--env", default="local")
    run.add_argument("--only", nargs="*", help="consumers to run (default: all and the poller)")
    redrive = sub.add_parser("redrive", help="move a DLQ's messages back to its queue")
    redrive.add_argument("queue", help="consumer name, e.g. processor, publisher-rest, analytics")
    redrive.add_argument("--env", default="local")
    dlq = sub.add_parser("dlq", help="show what is in the dead-letter queues, with reasons")
    dlq.add_argument("--env", default="local")
    args = parser.parse_args(argv)

    if args.command in ("dlq", "redrive") and not localstack.healthy():
        print("LocalStack is not running: nothing to inspect (run `make demo` first)", file=sys.stderr)
        return 2
    localstack.start()
    if args.command == "demo":
        from socialomega.local.demo import run_demo

        return run_demo(args.env, args.timeout)
    from socialomega.local import ops, terraform
    from socialomega.local.runtime import LocalRuntime, apply_service_env

    outputs = terraform.outputs_for(args.env)
    apply_service_env(outputs, localstack.ENDPOINT)
    if args.command == "dlq":
        for name, items in ops.dlq_contents(outputs["dlq_urls"]).items():
            print(f"{name}: {len(items)} message(s)")
            for item in items:
                print(f"  {item['asset_id']}: [{item['code']}] {item['reason']}")
        return 0
    if args.command == "redrive":
        consumer = outputs["consumers"].get(args.queue)
        if consumer is None:
            print(f"unknown queue {args.queue!r}; one of: {', '.join(outputs['consumers'])}", file=sys.stderr)
            return 2
        print("move task", ops.redrive(consumer["dlq_url"], consumer["queue_url"]))
        return 0
    solog.configure()
    runtime = LocalRuntime.from_terraform_outputs(outputs, only=set(args.only) if args.only else None)
    runtime.start()
    print("local runtime running; Ctrl-C stops it", file=sys.stderr)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        runtime.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
