"""`python -m socialomega.sandbox --lightroom-port 8701 --rest-port 8702 [--seed N]`

Serves the fake Lightroom API and the generic REST target on 127.0.0.1 until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from socialomega.sandbox.server import Sandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m socialomega.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--lightroom-port", type=int, default=8701)
    parser.add_argument("--rest-port", type=int, default=8702)
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

    sandbox = Sandbox(host=args.host, lightroom_port=args.lightroom_port, rest_port=args.rest_port,
                      seed=args.seed, photo_count=args.photos, include_corrupt=args.include_corrupt,
                      quiet=not args.verbose)
    sandbox.start()
    try:
        print(f"lightroom  {sandbox.lightroom_url}", flush=True)
        print(f"rest       {sandbox.rest_url}", flush=True)
        print("credentials (fixed sandbox values, not secrets): "
              + json.dumps(sandbox.credentials, sort_keys=True), flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
        print("sandbox stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
