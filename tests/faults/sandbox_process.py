"""The fault suite's sandbox, in a process of its own so that it outlives a SIGKILLed runtime and
keeps the ground truth (what each platform received) for the accounting.

    python -m tests.faults.sandbox_process --info .build/fault-suite-sandbox.json --photos 50

Serves every fake on an ephemeral port of 127.0.0.1 and writes `--info` (URLs, credentials and
the expected photos) once they listen; runs until SIGTERM. The catalog: `--photos` generated
photos, all in the Publish album, each title prefixed with its marker `FS<nnn>` so that a post
on any platform names its photo (captions start with the title). Limits a 24-hour quota would
hit in a suite that posts 50+ photos in minutes are raised (X's daily cap, Instagram's
publishing quota): the suite is about faults, not quotas.

The REST target answers `{"kind": "500"|"429"|"delay", "rate": r, "seed": n, "for_seconds": s}`
on `POST /_sandbox/faults` here although `sandbox/rest_target.py` itself only knows counted
faults: `RestFaultModes` appends a fault carrying a `sandbox.faults.Trigger`, which
`faults.take_fault` (shared by every fake) honours.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from socialomega.sandbox import faults, rest_target
from socialomega.sandbox.server import Sandbox

MARKER = "FS{:03d}"


class RestFaultModes:
    """The REST target's WSGI app with rate and window faults added to its control API."""

    def __init__(self, app: rest_target.RestTarget) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:  # Sandbox reaches the target's state through it
        return getattr(self.app, name)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/_sandbox/faults":
            body = request.get_json(silent=True) or {}
            if request.method == "POST" and ("rate" in body or "for_seconds" in body):
                return self._add(body)(environ, start_response)
            if request.method == "GET":
                return self._list()(environ, start_response)
        return self.app(environ, start_response)

    def _add(self, body: dict[str, Any]) -> Response:
        kind = str(body.get("kind", ""))
        if kind not in ("500", "429", "delay"):
            return _json({"error": "kind must be 500, 429 or delay"}, 400)
        try:
            trigger = faults.parse_trigger(body, time.monotonic())
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        fault = rest_target._Fault(
            kind=kind,
            remaining=1,
            retry_after=int(body.get("retry_after", 1)),
            delay=float(body.get("delay", 0.0)),
            path_contains=body.get("path_contains"),
        )
        fault.trigger = trigger  # type: ignore[attr-defined]  # read by faults.take_fault
        with self.app.lock:
            self.app.faults.append(fault)
        return self._list()

    def _list(self) -> Response:
        now = time.monotonic()
        with self.app.lock:
            listed = []
            for fault in self.app.faults:
                view = {k: v for k, v in fault.__dict__.items() if k != "trigger"}
                trigger = getattr(fault, "trigger", None)
                if trigger is not None:
                    view.update(trigger.view(now), remaining=None)
                listed.append(view)
        return _json({"faults": listed})


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def build(photos: int, seed: int) -> tuple[Sandbox, list[dict[str, Any]]]:
    box = Sandbox(seed=seed, photo_count=photos)
    box.social["x"].set_daily_cap(100_000)  # type: ignore[attr-defined]
    box.social["instagram"].set_quota(100_000)  # type: ignore[attr-defined]
    box.rest = RestFaultModes(box.rest)  # type: ignore[assignment]
    state = box.lightroom.state
    publish = state.album_by_name("Publish")
    expected = []
    with state.lock:
        state.album_add(publish.id, list(state.assets))
        for index, asset in enumerate(sorted(state.assets.values(), key=lambda a: a.photo.index)):
            marker = MARKER.format(index)
            state.edit(asset.id, {"title": f"{marker} {asset.title or 'Untitled'}", "develop": False})
            expected.append({"asset_id": asset.id, "marker": marker, "title": asset.title})
    return box, expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.sandbox_process", description=__doc__)
    parser.add_argument("--info", required=True, help="where to write the URLs and expected photos (JSON)")
    parser.add_argument("--photos", type=int, default=50)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    box, expected = build(args.photos, args.seed)
    box.start()
    try:
        info = {"urls": box.urls, "credentials": box.credentials, "photos": expected}
        path = Path(args.info)
        path.with_suffix(".tmp").write_text(json.dumps(info, indent=1))
        path.with_suffix(".tmp").replace(path)
        stop.wait()
    finally:
        box.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
