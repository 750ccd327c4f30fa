"""The guarded session: redirects answered not followed, proxies refused, the checked address
connected to, a name that does not resolve retryable."""

from __future__ import annotations

import socket

import pytest
import requests

from socialomega.core import egress
from socialomega.core.egress import EgressPolicy, UnsafeDestination
from socialomega.core.http import classify
from socialomega.sandbox.server import serve


def redirecting(environ, start_response):
    if environ["PATH_INFO"] == "/elsewhere":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"followed"]
    start_response("302 Found", [("Location", "/elsewhere"), ("Content-Length", "0")])
    return [b""]


def test_a_redirect_is_answered_and_never_followed():
    with serve(redirecting) as url:
        session = egress.session(EgressPolicy.of(url, allow_private=True))
        for allow in (False, True):  # even a caller that asks to follow gets the 302
            response = session.get(url + "/start", allow_redirects=allow, timeout=5)
            assert response.status_code == 302 and response.history == []
        assert classify(response).kind == "permanent"


def test_proxies_from_the_environment_are_ignored_and_explicit_ones_refused(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    with serve(redirecting) as url:
        session = egress.session(EgressPolicy.of(url, allow_private=True))
        assert session.get(url + "/elsewhere", timeout=5).text == "followed"
        with pytest.raises(UnsafeDestination, match="proxies"):
            session.get(url + "/elsewhere", proxies={"http": "http://127.0.0.1:9"}, timeout=5)


def test_only_the_configured_port_and_host_are_reached():
    with serve(redirecting) as url, serve(redirecting) as other:
        session = egress.session(EgressPolicy.of(url, allow_private=True))
        with pytest.raises(UnsafeDestination, match="port"):
            session.get(other + "/elsewhere", timeout=5)
        with pytest.raises(UnsafeDestination, match="allow-list"):
            session.get(url.replace("127.0.0.1", "localhost") + "/elsewhere", timeout=5)


def test_the_connection_goes_to_the_checked_address_and_only_there(monkeypatch):
    """The name is resolved once, by the guard; urllib3 is handed the address, not the name."""
    with serve(redirecting) as url:
        port = int(url.rsplit(":", 1)[1])
        lookups: list[str] = []
        real = socket.getaddrinfo

        def resolver(host, *args, **kwargs):
            lookups.append(str(host))
            return real("127.0.0.1" if host == "api.sandbox.test" else host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", resolver)
        session = egress.session(EgressPolicy(frozenset({"api.sandbox.test"}), frozenset({port}), allow_private=True))
        assert session.get(f"http://api.sandbox.test:{port}/elsewhere", timeout=5).text == "followed"
        assert lookups.count("api.sandbox.test") == 1


def test_a_public_name_that_resolves_inside_is_refused(monkeypatch):
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))],
    )
    session = egress.session(EgressPolicy.of("https://api.example.com"))
    with pytest.raises(UnsafeDestination, match="non-public address 10.1.2.3"):
        session.get("https://api.example.com/x", timeout=5)


def test_a_name_that_does_not_resolve_is_a_retryable_connection_error(monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    session = egress.session(EgressPolicy.of("https://api.example.com"))
    with pytest.raises(requests.ConnectionError) as exc:
        session.get("https://api.example.com/x", timeout=5)
    assert (classify(error=exc.value).kind, classify(error=exc.value).code) == ("retryable", "connection_error")


def test_a_refused_destination_is_a_permanent_outcome_naming_no_path():
    outcome = classify(error=UnsafeDestination("https://evil.example:443: host 'evil.example' is not on the list"))
    assert (outcome.kind, outcome.code) == ("permanent", "unsafe_destination")
    session = egress.session(EgressPolicy.of("https://api.example.com"))
    with pytest.raises(UnsafeDestination) as exc:
        session.get("https://evil.example/secret-path?access_token=abc", timeout=5)
    assert "secret-path" not in str(exc.value) and "abc" not in str(exc.value)


def test_a_policy_refuses_its_own_unsafe_urls():
    with pytest.raises(UnsafeDestination, match="plain http"):
        EgressPolicy.of("http://api.example.com")
    with pytest.raises(UnsafeDestination, match="allow-list"):
        EgressPolicy.of("https://api.example.com/x", "https://token.example.com/t", hosts=["api.example.com"])
    policy = EgressPolicy.of("https://api.example.com:8443/x", "https://token.example.com/t")
    assert policy.hosts == {"api.example.com", "token.example.com"} and policy.ports == {443, 8443}
