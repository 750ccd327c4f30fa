"""core.http.ApiClient, the one authenticated client every publisher calls its platform with,
within the invocation's deadline, and the Retry-After parsing every client shares (fake
transport, fake clock)."""

from __future__ import annotations

import email.utils

import pytest
import requests

from socialomega.core import deadline as deadline_module
from socialomega.core.deadline import DeadlineReached
from socialomega.core.http import ApiClient, DeadlineSession, Outcome, PlatformErrors, retry_after_seconds
from tests.unit.test_rest_publisher import FakeSession as Session  # records request(method, url, **kwargs)


def test_a_call_carries_the_token_the_headers_the_timeouts_and_follows_no_redirect():
    session = Session((200, {}), (200, {}))
    client = ApiClient(
        session,
        base_url="https://api.example.com",
        timeout=(2.0, 9.0),
        headers={"Api-Version": "7", "Accept": "a"},
        token=lambda: "t1",
    )
    client.send("POST", "/v1/posts", headers={"Accept": "b"}, json={"n": 1})
    client.send("GET", "https://upload.example.com/u?sig=1", timeout=(1.0, 1.0))
    (method, url, kwargs), (_, other, later) = session.requests
    assert (method, url) == (
        "POST",
        "https://api.example.com/v1/posts",
    ) and other == "https://upload.example.com/u?sig=1"
    assert kwargs["headers"] == {"Api-Version": "7", "Accept": "b", "Authorization": "Bearer t1"}
    assert kwargs["json"] == {"n": 1} and kwargs["timeout"] == (2.0, 9.0) and later["timeout"] == (1.0, 1.0)
    assert kwargs["allow_redirects"] is False and later["allow_redirects"] is False


def test_a_refused_token_is_renewed_once_and_the_call_repeated_once():
    session = Session((401, {}), (401, {}))
    refused = []
    client = ApiClient(session, token=lambda: "old", refresh=lambda token: refused.append(token) or "new")
    response = client.send("POST", "https://api.example.com/p")
    assert refused == ["old"] and response.status_code == 401  # the second refusal is the answer
    assert [c[2]["headers"]["Authorization"] for c in session.requests] == ["Bearer old", "Bearer new"]


def test_the_refresh_hook_decides_whether_to_repeat():
    session = Session((401, {}))
    client = ApiClient(session, token=lambda: "same", refresh=lambda token: None)
    assert client.send("GET", "https://api.example.com/p").status_code == 401 and len(session.requests) == 1


def test_what_counts_as_a_refusal_is_the_platforms():
    errors = PlatformErrors(
        parse=lambda status, body, headers, hint: Outcome("auth", status, "p:190") if body.get("code") == 190 else None
    )
    session = Session((400, {"code": 190}), (200, {}))
    client = ApiClient(session, errors=errors, token=lambda: "old", refresh=lambda token: "new")
    response, outcome = client.call("GET", "https://api.example.com/p")
    assert outcome.ok and len(session.requests) == 2
    only_401 = ApiClient(
        Session((400, {"code": 190})),
        errors=errors,
        token=lambda: "old",
        refresh=lambda token: pytest.fail("not a refusal"),
        rejected=lambda r: r.status_code == 401,
    )
    assert only_401.call("GET", "https://api.example.com/p")[1] == Outcome("auth", 400, "p:190")


def test_without_a_token_hook_the_caller_sends_its_own_auth():
    session = Session((401, {}))
    client = ApiClient(session, refresh=lambda token: pytest.fail("no bearer token to renew"))
    client.send("POST", "https://api.example.com/p", headers={"X-Api-Key": "k"})
    assert session.requests[0][2]["headers"] == {"X-Api-Key": "k"}


def test_call_classifies_and_a_timeout_is_unknown_only_for_a_final_call():
    client = ApiClient(
        Session(
            requests.ReadTimeout("read timed out"),
            requests.ReadTimeout("read timed out"),
            (503, {"error": {"message": "busy"}}),
        )
    )
    timed_out = Outcome("unknown", None, "timeout", "ReadTimeout")
    assert client.call("POST", "https://api.example.com/p") == (None, timed_out)
    assert client.call("POST", "https://api.example.com/p", final=False)[1].kind == "retryable"
    response, outcome = client.call("GET", "https://api.example.com/p")
    assert response.status_code == 503 and (outcome.kind, outcome.message) == ("retryable", "busy")


def test_the_platforms_errors_and_wait_headers_refine_the_classification():
    errors = PlatformErrors(
        parse=lambda status, body, headers, hint: (
            Outcome("deferred", status, "p:cap", retry_after=hint) if body.get("cap") else None
        ),
        wait=lambda headers: float(headers["p-reset-in"]) if "p-reset-in" in headers else None,
    )
    response = requests.Response()
    response.status_code, response._content = 429, b'{"cap": true}'
    response.headers.update({"Retry-After": "5", "p-reset-in": "90"})
    client = ApiClient(Session(), errors=errors)
    assert client.classify(response) == Outcome("deferred", 429, "p:cap", retry_after=90.0)
    response._content = b"{}"
    assert client.classify(response) == Outcome("retryable", 429, "429", "{}", retry_after=90.0)


def test_retry_after_is_delta_seconds_or_an_http_date_and_nothing_else():
    assert retry_after_seconds("42") == 42 and retry_after_seconds(" 1.5 ") == 1.5
    assert retry_after_seconds("-3") == 0.0
    assert retry_after_seconds("inf") is None and retry_after_seconds("nan") is None and retry_after_seconds("") is None
    zoneless = email.utils.formatdate(1_000_090, usegmt=False).replace("+0000", "-0000")  # parsed without a zone
    assert retry_after_seconds(zoneless, now=1_000_000) == pytest.approx(90)
    assert retry_after_seconds(email.utils.formatdate(999_000, usegmt=True), now=1_000_000) == 0.0


# --- the invocation's deadline (core/deadline.py) ------------------------------------------------


class FakeMonotonic:
    """The deadline module's clock, moved by hand: no test waits for real time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeMonotonic()
    monkeypatch.setattr(deadline_module, "time", fake)
    return fake


def left(seconds: float):
    """Bind a deadline that leaves `seconds` (the 3 s margin already deducted)."""
    return deadline_module.bound(deadline_module.Deadline.in_seconds(seconds + 3.0, margin=3.0))


def test_a_call_with_half_a_second_left_is_not_sent_and_is_retryable_even_when_final(clock):
    session = Session((200, {}))
    client = ApiClient(session, token=lambda: pytest.fail("no token is fetched for a call not sent"))
    with left(0.5):
        response, outcome = client.call("POST", "https://api.example.com/p", final=True)
        with pytest.raises(DeadlineReached):
            client.send("POST", "https://api.example.com/p")
    assert response is None and session.requests == []
    assert (outcome.kind, outcome.code, outcome.status, outcome.retry_after) == ("retryable", "deadline", None, 1.0)
    assert outcome.message == "POST not sent: only 0.5 s left in this invocation"


def test_a_calls_timeouts_are_cut_to_what_is_left(clock):
    session = Session((200, {}), (200, {}), (200, {}))
    client = ApiClient(session, timeout=(5.0, 20.0))
    with left(7.0):
        client.send("GET", "https://api.example.com/a")
        client.send("GET", "https://api.example.com/b", timeout=(1.0, 3.0))  # a call's own, shorter: kept
    with left(2.5):
        client.send("GET", "https://api.example.com/c")
    assert [kwargs["timeout"] for _, _, kwargs in session.requests] == [(5.0, 7.0), (1.0, 3.0), (2.5, 2.5)]


def test_the_repeat_with_a_new_token_gets_only_the_time_left_after_the_refresh(clock):
    def slow_refresh(refused: str) -> str:
        clock.now += 4.0  # the token refresh took 4 s
        return "new"

    session = Session((401, {}), (200, {}))
    with left(10.0):
        ApiClient(session, token=lambda: "old", refresh=slow_refresh).call("POST", "https://api.example.com/p")
    assert [kwargs["timeout"] for _, _, kwargs in session.requests] == [(5.0, 10.0), (5.0, 6.0)]

    def slower_refresh(refused: str) -> str:
        clock.now += 9.5
        return "new"

    session = Session((401, {}))
    with left(10.0):
        _, outcome = ApiClient(session, token=lambda: "old", refresh=slower_refresh).call(
            "POST", "https://api.example.com/p"
        )
    assert len(session.requests) == 1 and (outcome.kind, outcome.code) == ("retryable", "deadline")


def test_outside_an_invocation_the_configured_timeouts_hold(clock):
    session = Session((200, {}))
    ApiClient(session, timeout=(2.0, 90.0)).send("GET", "https://api.example.com/p")
    assert session.requests[0][2]["timeout"] == (2.0, 90.0)


def test_a_deadline_session_cuts_the_timeouts_of_code_that_calls_requests_itself(clock):
    inner = Session((200, {}))
    bounded = DeadlineSession(inner)
    with left(4.0):
        bounded.post("https://api.example.com/token", data={"a": "b"}, timeout=(5.0, 20.0), allow_redirects=False)
        with pytest.raises(DeadlineReached):
            clock.now += 3.5
            bounded.post("https://api.example.com/token", timeout=(5.0, 20.0))
    [(method, url, kwargs)] = inner.requests
    assert (method, kwargs["timeout"], kwargs["data"], kwargs["allow_redirects"]) == (
        "POST",
        (4.0, 4.0),
        {"a": "b"},
        False,
    )
