"""The sandbox-only control plane shared by the social platform fakes (Instagram, X, Facebook,
LinkedIn): fault injection, the request log and the common `/_sandbox/*` endpoints.

A fake inherits `SandboxControl` (which is its WSGI entry point: `/_sandbox/*` is answered
here, anything else by the fake's `serve(request)`), calls `_reset_control()` from its
`reset()`, and implements `serve()`, `posts()`, `expire_token()` and `reset()`. It keeps its
platform-specific behaviour via hooks:
  * the error bodies of the "500", "429" and "timeout" faults: the fake decides what to answer
    when `take_fault()` hands it a fault (`apply_fault()` does the sleeping);
  * `FAULT_OPTIONS`: extra per-fault fields it understands (LinkedIn's `daily`);
  * `RETRY_AFTER_DEFAULT`: the default `retry_after` of a fault;
  * `EXTRA_CONTROL`: its own control endpoints, `(method, path) -> method name`; the method
    takes (JSON body as a dict, request) and answers a Response;
  * `EXPIRE_TOKEN_ANSWER` and `_control_error()`: the shape of the control API's own answers.

Common control API (no auth):
  POST   /_sandbox/faults        {"kind": "500"|"429"|"timeout"|"slow_accept", "count": 1,
                                  "retry_after": s, "delay": s, "path_contains": "...",
                                  "skip": 0, "rate": r, "seed": n, "for_seconds": s,
                                  <FAULT_OPTIONS>} -> {"faults": [...]}; 400 if invalid.
                                 `skip`: let that many matching calls pass first.
                                 Without `rate`/`for_seconds` the next `count` matching calls
                                 fail; with `rate` (0 < r <= 1) each matching call fails with
                                 that probability, deterministic given `seed`; with
                                 `for_seconds` every matching call fails until the window
                                 ends (an outage: "500" answers the platform's own 5xx); both
                                 together: a rate for that long (`faults.py`).
  GET/DELETE /_sandbox/faults    the pending faults (DELETE clears them first)
  GET    /_sandbox/posts         {"posts": fake.posts()}
  GET    /_sandbox/requests      {"requests": the request log} (never any credentials)
  POST   /_sandbox/expire-token  fake.expire_token() -> EXPIRE_TOKEN_ANSWER
  POST   /_sandbox/reset         fake.reset() -> {"reset": True}
Fault semantics: "timeout" sleeps `delay` and answers a 504 without acting; "slow_accept" acts,
then sleeps `delay` before answering; "500"/"429" answer the platform's error without acting.
"""

from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

from werkzeug.wrappers import Request, Response

from socialomega.sandbox import faults as countdown
from socialomega.sandbox.faults import Trigger

FAULT_KINDS = ("500", "429", "timeout", "slow_accept")
# Query/form parameter names that carry credentials; never written to the request log.
CREDENTIAL_PARAMS = frozenset(
    {"access_token", "client_secret", "refresh_token", "token", "api_key", "code", "input_token", "fb_exchange_token"}
)


@dataclass
class Fault:
    kind: str  # "500" | "429" | "timeout" | "slow_accept"
    remaining: int
    retry_after: float = 1.0
    delay: float = 0.0
    path_contains: str | None = None
    skip: int = 0
    options: dict[str, Any] = field(default_factory=dict)  # platform extras, e.g. LinkedIn's `daily`
    trigger: Trigger | None = None  # rate / outage window; None: counted (`remaining`)

    def view(self, now: float | None = None) -> dict[str, Any]:
        """The fault as the control API lists it (options flattened; a rate or window fault with
        its trigger, whose `remaining` is None)."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("options", "trigger")}
        values.update(self.options)
        if self.trigger is not None:
            values["remaining"] = None
            values.update(self.trigger.view(time.monotonic() if now is None else now))
        return values


def parse_fault(
    spec: Any,
    *,
    retry_after_default: float = 1.0,
    options: dict[str, Callable[[Any], Any]] | None = None,
    now: float | None = None,
) -> Fault:
    """A Fault from Python arguments or a `/_sandbox/faults` JSON body; ValueError if invalid.
    A `for_seconds` window starts at `now` (the fake's fault clock)."""
    if not isinstance(spec, dict):
        raise ValueError("the fault must be a JSON object")
    kind = str(spec.get("kind", ""))
    if kind not in FAULT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
    try:
        retry_after = spec.get("retry_after")
        path_contains = spec.get("path_contains")
        return Fault(
            kind=kind,
            remaining=max(1, int(spec.get("count", 1))),
            retry_after=retry_after_default if retry_after is None else float(retry_after),
            delay=float(spec.get("delay") or 0.0),
            path_contains=None if path_contains is None else str(path_contains),
            skip=max(0, int(spec.get("skip") or 0)),
            options={name: convert(spec.get(name)) for name, convert in (options or {}).items()},
            trigger=countdown.parse_trigger(spec, time.monotonic() if now is None else now),
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"invalid fault: {exc}") from None


def apply_fault[R](
    fault: Fault | None, act: Callable[[], R], *, timeout: Callable[[Fault], R], error: Callable[[Fault], R]
) -> R:
    """Run `act` under `fault`: None -> act; "timeout" -> sleep `delay`, then `timeout(fault)`
    (the 504, nothing done); "500"/"429" -> `error(fault)` (the platform's answer, or it raises);
    "slow_accept" -> act, then sleep `delay` before the answer goes out."""
    if fault is None:
        return act()
    if fault.kind == "timeout":
        time.sleep(fault.delay)
        return timeout(fault)
    if fault.kind in ("500", "429"):
        return error(fault)
    result = act()
    time.sleep(fault.delay)
    return result


def redacted_query(request: Request) -> str:
    """The query string without credential parameters."""
    pairs = parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True)
    return urlencode([(k, v) for k, v in pairs if k.lower() not in CREDENTIAL_PARAMS])


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


class SandboxControl(ABC):
    """Base of the social fakes: the fault queue (`faults`), the request log (`requests`) and
    `/_sandbox/*`. A fake implements the four abstract methods."""

    lock: threading.RLock
    faults: list[Fault]
    requests: list[dict[str, Any]]

    RETRY_AFTER_DEFAULT: ClassVar[float] = 1.0
    FAULT_OPTIONS: ClassVar[dict[str, Callable[[Any], Any]]] = {}
    EXPIRE_TOKEN_ANSWER: ClassVar[dict[str, Any]] = {"expired": True}
    EXTRA_CONTROL: ClassVar[dict[tuple[str, str], str]] = {}

    # --- what the fake provides -----------------------------------------------------------------
    @abstractmethod
    def reset(self) -> None:
        """Forget everything (call `_reset_control()` under the lock)."""

    @abstractmethod
    def posts(self) -> list[dict[str, Any]]:
        """The posts the fake published, oldest first."""

    @abstractmethod
    def expire_token(self) -> None:
        """Make the current access token fail the way the platform signals it."""

    def _control_error(self, message: str, status: int = 400) -> Response:
        return _json({"error": message}, status)

    def fault_now(self) -> float:
        """The clock of outage windows (tests replace it on an instance)."""
        return time.monotonic()

    # --- state ----------------------------------------------------------------------------------
    def _reset_control(self) -> None:
        """Call from reset(), under the lock."""
        self.faults = []
        self.requests = []

    def fail_next(
        self,
        kind: str,
        count: int = 1,
        *,
        retry_after: float | None = None,
        delay: float = 0.0,
        path_contains: str | None = None,
        skip: int = 0,
        rate: float | None = None,
        seed: int | None = None,
        for_seconds: float | None = None,
        **options: Any,
    ) -> None:
        """The next `count` calls whose path contains `path_contains` fail with `kind` (after
        `skip` matching calls pass); with `rate` each such call fails with that probability
        (seeded), with `for_seconds` every one until the window ends. Options are the fake's
        FAULT_OPTIONS."""
        unknown = set(options) - set(self.FAULT_OPTIONS)
        if unknown:
            raise TypeError(f"fail_next() got unexpected keyword argument(s) {', '.join(sorted(unknown))}")
        fault = parse_fault(
            {
                "kind": kind,
                "count": count,
                "retry_after": retry_after,
                "delay": delay,
                "path_contains": path_contains,
                "skip": skip,
                "rate": rate,
                "seed": seed,
                "for_seconds": for_seconds,
                **options,
            },
            retry_after_default=self.RETRY_AFTER_DEFAULT,
            options=self.FAULT_OPTIONS,
            now=self.fault_now(),
        )
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, path: str) -> Fault | None:
        """The fault for a call to `path` (a matching fault with `skip` left lets it pass)."""
        with self.lock:
            for fault in self.faults:
                if fault.path_contains and fault.path_contains not in path:
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                break
            return countdown.take_fault(self.faults, path, clock=self.fault_now)

    def log_request(self, request: Request, status: int, fault: Fault | str | None, **extra: Any) -> None:
        """Record a call: method, path, status, fault, time, plus `extra`. Never credentials: the
        path has no query string and headers are not recorded."""
        entry: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "status": status,
            "fault": fault.kind if isinstance(fault, Fault) else fault,
            "at": datetime.now(UTC).isoformat(),
        }
        entry.update(extra)
        with self.lock:
            self.requests.append(entry)

    def request_log(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.requests]

    # --- WSGI -----------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.control(request) if request.path.startswith("/_sandbox/") else self.serve(request)
        return response(environ, start_response)

    @abstractmethod
    def serve(self, request: Request) -> Response:
        """The fake's API: answer one non-control request."""

    # --- /_sandbox/* ----------------------------------------------------------------------------
    def control(self, request: Request) -> Response:
        """Answer a `/_sandbox/...` request: the common endpoints, then the fake's EXTRA_CONTROL."""
        routes = {**_COMMON, **self.EXTRA_CONTROL}
        name = routes.get((request.method, request.path))
        if name is None:
            if any(path == request.path for _, path in routes):
                return self._control_error("method not allowed", 405)
            return self._control_error("not found", 404)
        body = request.get_json(silent=True)
        endpoint: Callable[[dict[str, Any], Request], Response] = getattr(self, name)
        return endpoint(body if isinstance(body, dict) else {}, request)

    def _ctl_faults(self, body: dict[str, Any], request: Request) -> Response:
        if request.method == "POST":
            try:
                fault = parse_fault(
                    request.get_json(silent=True),
                    retry_after_default=self.RETRY_AFTER_DEFAULT,
                    options=self.FAULT_OPTIONS,
                    now=self.fault_now(),
                )
            except ValueError as exc:
                return self._control_error(str(exc))
            with self.lock:
                self.faults.append(fault)
        elif request.method == "DELETE":
            with self.lock:
                self.faults.clear()
        now = self.fault_now()
        with self.lock:
            return _json({"faults": [f.view(now) for f in self.faults]})

    def _ctl_posts(self, body: dict[str, Any], request: Request) -> Response:
        return _json({"posts": self.posts()})

    def _ctl_requests(self, body: dict[str, Any], request: Request) -> Response:
        return _json({"requests": self.request_log()})

    def _ctl_expire_token(self, body: dict[str, Any], request: Request) -> Response:
        self.expire_token()
        return _json(self.EXPIRE_TOKEN_ANSWER)

    def _ctl_reset(self, body: dict[str, Any], request: Request) -> Response:
        self.reset()
        return _json({"reset": True})


_COMMON = {
    ("GET", "/_sandbox/faults"): "_ctl_faults",
    ("POST", "/_sandbox/faults"): "_ctl_faults",
    ("DELETE", "/_sandbox/faults"): "_ctl_faults",
    ("GET", "/_sandbox/posts"): "_ctl_posts",
    ("GET", "/_sandbox/requests"): "_ctl_requests",
    ("POST", "/_sandbox/expire-token"): "_ctl_expire_token",
    ("POST", "/_sandbox/reset"): "_ctl_reset",
}
