"""`python -m socialomega.sandbox [--seed N] [--include-corrupt]`

Serves the fake Lightroom API, the generic REST target and the Instagram, X, Facebook and
LinkedIn fakes on 127.0.0.1 (ports: `--port NAME=PORT`, defaults in `server.DEMO_PORTS`)
until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from socialomega.sandbox.server import DEMO_PORTS, Sandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m socialomega.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", action="append", default=[], metavar="NAME=PORT", help=f"port of one fake (default {DEMO_PORTS})"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--photos", type=int, default=None, help="number of generated photos (default 12)")
    parser.add_argument("--include-corrupt", action="store_true", help="add a truncated-JPEG asset")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    ports = {**DEMO_PORTS, **{name: int(port) for name, _, port in (p.partition("=") for p in args.port)}}
    sandbox = Sandbox(
        host=args.host,
        lightroom_port=ports["lightroom"],
        rest_port=ports["rest"],
        social_ports=ports,
        seed=args.seed,
        photo_count=args.photos,
        include_corrupt=args.include_corrupt,
        quiet=not args.verbose,
    )
    sandbox.start()
    try:
        for name, url in sandbox.urls.items():
            print(f"{name:<10} {url}", flush=True)
        print(
            "credentials (fixed sandbox values, not secrets): " + json.dumps(sandbox.credentials, sort_keys=True),
            flush=True,
        )
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
        print("sandbox stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
