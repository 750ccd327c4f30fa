"""`python -m socialomega.local demo|run|serve|apply|dlq|redrive|parked`: local mode entry points.

`dlq`, `redrive` and `parked` are thin wrappers over the operator command on the local stack
(`socialomega --env <env> dlq list`, `dlq redrive <queue>`, `parked`: cli/), kept for old habits.

`serve` and `apply` are what docker-compose.yml's containers run: `apply` is the one-shot job
that applies terraform/envs/local for the sandbox and writes the outputs to a JSON file;
`serve <service>` is one service's container, the local runtime for that service only (its
own queue(s); the poller its schedule; `webhooks` the API Gateway stand-in on
`--webhook-port`), configured from that file.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

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
    serve = sub.add_parser("serve", help="the local runtime for one service only (one container each)")
    serve.add_argument(
        "service", help="poller, processor, publisher (every target), publisher-<target>, analytics, webhooks"
    )
    serve.add_argument("--env", default="local")
    serve.add_argument("--webhook-port", type=int, default=8707, help="webhooks: the port of /webhooks/{platform}")
    serve.add_argument("--outputs", help="Terraform outputs JSON written by `apply` (default: ask terraform)")
    apply = sub.add_parser("apply", help="apply terraform/envs/local for the sandbox, write the outputs")
    apply.add_argument("--env", default="local")
    apply.add_argument(
        "--sandbox-host",
        default="127.0.0.1",
        help="where the sandbox fakes listen (ports: SANDBOX_<NAME>_PORT, as for `python -m socialomega.sandbox`)",
    )
    apply.add_argument("--poll-every", type=float, default=300.0, help="poller schedule, seconds")
    apply.add_argument("--outputs", required=True, help="where to write the outputs JSON")
    dlq = sub.add_parser("dlq", help="show what is in the dead-letter queues, with reasons")
    dlq.add_argument("--env", default="local")
    parked = sub.add_parser("parked", help="list the photos the poller parked (failing on every poll), with reasons")
    parked.add_argument("--env", default="local")
    args = parser.parse_args(argv)

    if args.command == "serve":
        return serve_one(args.service, args.env, args.outputs, args.webhook_port)
    if args.command == "apply":
        return apply_for_sandbox(args)

    if args.command in ("dlq", "redrive", "parked"):
        if not localstack.healthy():
            print("LocalStack is not running: nothing to inspect (run `make demo` first)", file=sys.stderr)
            return 2
        from socialomega.cli.main import main as socialomega

        command = {
            "dlq": ["dlq", "list"],
            "redrive": ["dlq", "redrive", getattr(args, "queue", "")],
            "parked": ["parked"],
        }
        return socialomega(["--env", args.env, "--endpoint-url", localstack.ENDPOINT, *command[args.command]])
    localstack.start()
    if args.command == "demo":
        from socialomega.local.demo import run_demo

        return run_demo(args.env, args.timeout)
    from socialomega.local import terraform
    from socialomega.local.runtime import LocalRuntime, apply_service_env

    outputs = terraform.outputs_for(args.env)
    apply_service_env(outputs, localstack.ENDPOINT)
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


def _wait_for_localstack(seconds: float = 180.0) -> None:
    """Containers never start LocalStack; they wait for compose's."""
    deadline = time.monotonic() + seconds
    while not localstack.healthy():
        if time.monotonic() > deadline:
            sys.exit(f"LocalStack did not answer at {localstack.ENDPOINT} within {seconds:.0f}s")
        time.sleep(1)


def apply_for_sandbox(args: argparse.Namespace) -> int:
    from socialomega.local import sandbox_config, terraform
    from socialomega.sandbox.server import DEMO_PORTS, fixed_credentials

    _wait_for_localstack()
    urls = {name: f"http://{args.sandbox_host}:{port}" for name, port in DEMO_PORTS.items()}
    outputs, seconds = terraform.apply(
        args.env,
        {
            "lightroom_settings": sandbox_config.lightroom_settings(urls["lightroom"]),
            # Each edit a new post, so the compose stack shows a Lightroom edit travel end to end.
            "targets": sandbox_config.targets(urls, on_edit="repost"),
            "secrets": sandbox_config.secrets(fixed_credentials()),
            "poll_every_seconds": args.poll_every,
        },
    )
    path = Path(args.outputs)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(outputs, indent=1))
    tmp.replace(path)
    print(f"terraform apply envs/local ({args.env}) to {localstack.ENDPOINT}: {seconds:.1f} s; outputs in {path}")
    return 0


def service_selection(outputs: dict[str, Any], service: str) -> set[str]:
    """Consumer names (and `poller`) that one service's container runs."""
    names = {name for name, c in outputs["consumers"].items() if service in (name, c.get("service"))}
    if service == "poller":
        names.add("poller")
    return names


def serve_one(service: str, env: str, outputs_file: str | None, webhook_port: int = 8707) -> int:
    from socialomega.local import terraform
    from socialomega.local.runtime import LocalRuntime, apply_service_env

    _wait_for_localstack()
    outputs = json.loads(Path(outputs_file).read_text()) if outputs_file else terraform.outputs_for(env)
    webhooks = service == "webhooks"  # no queue, no schedule: API Gateway's stand-in only
    only = set() if webhooks else service_selection(outputs, service)
    if not only and not webhooks:
        known = sorted(
            {"poller", *outputs["consumers"], *(c.get("service", "") for c in outputs["consumers"].values())}
        )
        print(f"unknown service {service!r}; one of: {', '.join(k for k in known if k)}", file=sys.stderr)
        return 2
    apply_service_env(outputs, localstack.ENDPOINT)
    solog.configure()
    runtime = LocalRuntime.from_terraform_outputs(outputs, only=only, webhook_port=webhook_port if webhooks else None)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):  # PID 1 in a container: SIGTERM needs a handler
        signal.signal(signum, lambda *_: stop.set())
    runtime.start()
    what = f"{runtime.webhook_url}/webhooks/{{platform}}" if webhooks else ", ".join(sorted(only))
    print(f"serving {service}: {what} (LocalStack {localstack.ENDPOINT})", file=sys.stderr, flush=True)
    stop.wait()
    runtime.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
