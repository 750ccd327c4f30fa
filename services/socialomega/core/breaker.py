"""A circuit breaker per publish target, shared by every invocation through one S3 document.

Lambda runs many copies of a publisher at once and none lives long, so the breaker's state
cannot sit in process memory: it is `breakers/<target>.json`, changed only by compare-and-swap
(`Documents.update`, S3 `If-Match` / `If-None-Match`), so two invocations never both believe
they changed it.

    closed ──(threshold consecutive retryable failures)──> open
    open ──(cool-down over; exactly one invocation wins the swap)──> half_open (its probe)
    half_open ──probe succeeds──> closed      half_open ──probe fails──> open (cool-down doubled)

While open (or while another invocation probes) `admit` raises `BreakerOpen` with the seconds
to wait: the caller defers the message without calling the platform and without using up its
receive count. A probe that dies (its function timed out) holds the half-open state for
`probe_lease` seconds only, then the next invocation probes. Reading costs one GET per record;
writes happen only on failures and transitions.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from socialomega.core.config import Resilience
from socialomega.core.ports import Documents
from socialomega.core.store import breaker_key

Admission = Literal["closed", "probe"]
Transition = Literal["opened", "closed"]


class BreakerOpen(Exception):
    """The target's breaker is open (or another invocation is probing): wait `seconds`."""

    def __init__(self, target: str, seconds: float, state: dict[str, Any]) -> None:
        super().__init__(
            f"{target}: circuit breaker {state.get('state')} after {state.get('failures', 0)} consecutive failures "
            f"(last: {state.get('last_reason', '')}); next try in {seconds:.0f} s"
        )
        self.target = target
        self.seconds = seconds
        self.state = state

    @property
    def open_seconds(self) -> float:
        """How long the breaker has been open (since it last opened from closed)."""
        return max(0.0, time.time() - float(self.state.get("open_since") or time.time()))


@dataclass
class Ticket:
    """What `admit` let through: a normal call, or this invocation's probe (`probe_id`)."""

    admission: Admission
    probe_id: str | None = None


OnTransition = Callable[[Transition, dict[str, Any]], None]


class Breaker:
    def __init__(
        self,
        store: Documents,
        target: str,
        settings: Resilience,
        *,
        probe_lease: float = 120.0,
        clock: Callable[[], float] = time.time,
        on_transition: OnTransition | None = None,
    ) -> None:
        self.store = store
        self.target = target
        self.settings = settings
        self.probe_lease = probe_lease
        self.clock = clock
        self.on_transition = on_transition
        self.key = breaker_key(target)

    # -- before the call ---------------------------------------------------------------
    def admit(self) -> Ticket:
        """A ticket to call the platform, or `BreakerOpen`."""
        doc = self.store.get(self.key)
        data = None if doc is None else doc.data
        if data is None or data.get("state", "closed") == "closed":
            return Ticket("closed")
        now = self.clock()
        wait = self._wait(data, now)
        if wait > 0:
            raise BreakerOpen(self.target, wait, data)
        probe_id = uuid.uuid4().hex

        def take_probe(current: dict[str, Any] | None) -> dict[str, Any] | None:
            if current is None or current.get("state", "closed") == "closed" or self._wait(current, now) > 0:
                return None  # closed meanwhile, or someone else took the probe
            return {**current, "state": "half_open", "probe_id": probe_id, "probe_until": now + self.probe_lease}

        after = self.store.update(self.key, take_probe) or {}
        if after.get("state", "closed") == "closed":
            return Ticket("closed")
        if after.get("probe_id") == probe_id and after.get("state") == "half_open":
            return Ticket("probe", probe_id)
        raise BreakerOpen(self.target, max(1.0, self._wait(after, now)), after)

    def is_open(self) -> bool:
        """Whether a call now would be refused (read only: no probe is taken)."""
        doc = self.store.get(self.key)
        data = None if doc is None else doc.data
        return data is not None and data.get("state", "closed") != "closed" and self._wait(data, self.clock()) > 0

    def _wait(self, data: dict[str, Any], now: float) -> float:
        """Seconds before a probe may be sent (0: now)."""
        if data.get("state") == "half_open":
            return max(0.0, float(data.get("probe_until", 0)) - now)
        return max(0.0, float(data.get("opened_at", 0)) + float(data.get("cooldown", 0)) - now)

    # -- after the call ----------------------------------------------------------------
    def succeeded(self, ticket: Ticket) -> None:
        """The platform answered (a success or a refusal that proves it is up): close."""

        def close(current: dict[str, Any] | None) -> dict[str, Any] | None:
            if current is None or (current.get("state", "closed") == "closed" and not current.get("failures")):
                return None
            return {"state": "closed", "failures": 0, "closed_at": self.clock(), "last_reason": ""} | _history(current)

        self._change(close)

    def failed(self, ticket: Ticket, reason: str) -> None:
        """A retryable failure (5xx, 429, timeout, lost connection): count it; open at the threshold."""
        now = self.clock()
        base = self.settings.breaker_cooldown_seconds

        def count(current: dict[str, Any] | None) -> dict[str, Any] | None:
            current = current or {"state": "closed", "failures": 0}
            failures = int(current.get("failures", 0)) + 1
            state = current.get("state", "closed")
            if ticket.admission == "probe" and current.get("probe_id") == ticket.probe_id:
                cooldown = min(self.settings.breaker_max_cooldown_seconds, float(current.get("cooldown", base)) * 2)
                return {**_reopened(current, now, cooldown), "failures": failures, "last_reason": reason[:300]}
            if state == "closed":
                if failures >= self.settings.breaker_threshold:
                    return {
                        **_reopened(current, now, base),
                        "open_since": now,
                        "failures": failures,
                        "last_reason": reason[:300],
                    }
                return {**current, "failures": failures, "last_reason": reason[:300]}
            return None  # already open: a call admitted before it opened; nothing to add

        self._change(count)

    def released(self, ticket: Ticket) -> None:
        """The probe ended without a verdict on the platform's health (e.g. a configuration
        error): give the probe back so the next invocation may probe at once."""
        if ticket.admission != "probe":
            return
        now = self.clock()

        def give_back(current: dict[str, Any] | None) -> dict[str, Any] | None:
            if current is None or current.get("probe_id") != ticket.probe_id or current.get("state") != "half_open":
                return None
            cooldown = float(current.get("cooldown", 0.0))
            return _reopened(current, now - cooldown, cooldown)  # its cool-down is over: probe again now

        self._change(give_back)

    def _change(self, change: Callable[[dict[str, Any] | None], dict[str, Any] | None]) -> None:
        seen: list[dict[str, Any] | None] = []

        def remembering(current: dict[str, Any] | None) -> dict[str, Any] | None:
            seen.append(current)
            return change(current)

        after = self.store.update(self.key, remembering)
        before = seen[-1] if seen else None
        was = (before or {}).get("state", "closed")
        now = (after or {}).get("state", "closed")
        if self.on_transition is None or after is None:
            return
        if was == "closed" and now == "open":
            self.on_transition("opened", after)
        elif was != "closed" and now == "closed":
            self.on_transition("closed", {**after, "open_since": (before or {}).get("open_since")})


def _reopened(current: dict[str, Any], now: float, cooldown: float) -> dict[str, Any]:
    opened = {k: v for k, v in current.items() if k not in ("probe_id", "probe_until")}
    return {**opened, "state": "open", "opened_at": now, "cooldown": cooldown}


def _history(current: dict[str, Any]) -> dict[str, Any]:
    """What a closed breaker keeps of its last opening (for the operator's eye)."""
    return {k: current[k] for k in ("open_since", "opened_at") if k in current}
