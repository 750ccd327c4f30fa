"""SSRF: hostile URLs driven through every outbound path; a local listener must see nothing.

Every path is built the way production builds it (no session injected: the guarded session of
core/egress.py), with production settings (no `allow_private_network`) unless a case needs a
legitimate server on loopback (pagination, redirects), where the sandbox setting is used and the
hostile URL points at a different port. The listener on 127.0.0.1 stands in for an internal
service (an instance metadata endpoint, the Lambda Runtime API, a database); the conftest
refuses and records every connection outside loopback.

Paths: REST `url` and `token_url`, the Lightroom `base_url`, Lightroom pagination (`base` and
`links.next.href` from response bodies), Adobe IMS (`ims_url`), LinkedIn upload URLs (as
initializeUpload hands them back and as a redelivery finds them saved), the platforms'
`api_base_url`s, and the image URL given to Meta (the variant a PublishRequested names).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from socialomega.core.config import ConfigError
from socialomega.core.consumer import PermanentFailure
from socialomega.core.envelope import new_event
from socialomega.platforms.facebook import publisher as facebook
from socialomega.platforms.instagram import publisher as instagram
from socialomega.platforms.linkedin import publisher as linkedin
from socialomega.platforms.rest.publisher import RestEndpoint, RestPublisher
from socialomega.platforms.x import publisher as x
from socialomega.poller.bootstrap import lightroom_client
from socialomega.poller.lightroom import LightroomClient, LightroomError
from socialomega.publishers.base import PublishRequest
from socialomega.publishers.claims import Publications
from socialomega.publishers.service import PublishService
from tests.security import tally
from tests.unit.fakes import FakeStore, MemoryCredentials, MemoryProgress, RecordingSender

SECRET = "sk-live-9f8e7d6c5b4a"  # what a leak would carry
REBIND_HOST = "rebind.example"
REBIND_PUBLIC = "93.184.215.14"  # a global address: the first answer of the rebinding resolver


def hostile_urls(port: int) -> list[tuple[str, str]]:
    """(label, url): the listener's address in every spelling, internal ranges, parser
    confusions, other schemes and odd ports. `P` is the listener's port."""
    p = port
    return [
        # loopback, every spelling
        ("loopback", f"http://127.0.0.1:{p}/"),
        ("loopback-https", f"https://127.0.0.1:{p}/"),
        ("short-2", f"http://127.1:{p}/"),
        ("short-3", f"http://127.0.1:{p}/"),
        ("decimal", f"http://2130706433:{p}/"),
        ("hex", f"http://0x7f000001:{p}/"),
        ("hex-dotted", f"http://0x7f.0x0.0x0.0x1:{p}/"),
        ("octal", f"http://0177.0.0.1:{p}/"),
        ("octal-long", f"http://017700000001:{p}/"),
        ("zero", f"http://0:{p}/"),
        ("unspecified", f"http://0.0.0.0:{p}/"),
        ("localhost", f"http://localhost:{p}/"),
        ("localhost-upper", f"http://LOCALHOST:{p}/"),
        ("localhost-dot", f"http://localhost.:{p}/"),
        ("sub-localhost", f"http://api.localhost:{p}/"),
        ("ipv6-loopback", f"http://[::1]:{p}/"),
        ("ipv4-mapped", f"http://[::ffff:127.0.0.1]:{p}/"),
        ("ipv4-mapped-hex", f"http://[::ffff:7f00:1]:{p}/"),
        ("ipv4-compatible", f"http://[::127.0.0.1]:{p}/"),
        ("ipv4-mapped-long", f"http://[0:0:0:0:0:ffff:127.0.0.1]:{p}/"),
        ("nat64", f"http://[64:ff9b::127.0.0.1]:{p}/"),
        ("6to4", f"http://[2002:7f00:1::1]:{p}/"),
        ("zone-id", f"http://[fe80::1%25lo]:{p}/"),
        ("trailing-dot", f"http://127.0.0.1.:{p}/"),
        ("leading-zeros", f"http://127.000.000.001:{p}/"),
        ("bracketed-v4", f"http://[127.0.0.1]:{p}/"),
        # private, link-local, metadata and other special ranges
        ("rfc1918-10", f"http://10.0.0.1:{p}/"),
        ("rfc1918-172", f"http://172.16.0.1:{p}/"),
        ("rfc1918-192", f"http://192.168.1.1:{p}/"),
        ("metadata", "http://169.254.169.254/latest/meta-data/"),
        ("ecs-credentials", "http://169.254.170.2/v2/credentials"),
        ("metadata-v6", "http://[fd00:ec2::254]/latest/"),
        ("metadata-octal", "http://0251.0376.0251.0376/"),
        ("metadata-decimal", "http://2852039166/"),
        ("metadata-mapped", "http://[::ffff:a9fe:a9fe]/"),
        ("metadata-name", "http://metadata.google.internal/"),
        ("site-local", f"http://[fec0::1]:{p}/"),
        ("cgnat", f"http://100.64.0.1:{p}/"),
        ("ietf-protocol", "http://192.0.0.1/"),
        ("benchmark", "http://198.18.0.1/"),
        ("multicast", f"http://224.0.0.1:{p}/"),
        ("multicast-v6", f"http://[ff02::1]:{p}/"),
        ("broadcast", f"http://255.255.255.255:{p}/"),
        ("reserved", "http://240.0.0.1/"),
        ("unique-local", f"http://[fd12:3456::1]:{p}/"),
        ("link-local-v6", f"http://[fe80::1]:{p}/"),
        # parser confusions
        ("backslash-userinfo", f"http://127.0.0.1:{p}\\@public.example/"),
        ("backslash-host", f"http://public.example\\@127.0.0.1:{p}/"),
        ("userinfo", f"http://public.example@127.0.0.1:{p}/"),
        ("userinfo-port", f"http://public.example:443@127.0.0.1:{p}/"),
        ("credentials", f"http://user:pass@127.0.0.1:{p}/"),
        ("fragment-at", f"http://127.0.0.1:{p}#@public.example/"),
        ("query-at", f"http://127.0.0.1:{p}?@public.example/"),
        ("path-at", f"http://127.0.0.1:{p}/@public.example/"),
        ("fragment-userinfo", f"http://public.example#@127.0.0.1:{p}/"),
        ("encoded-slash", f"http://127.0.0.1:{p}%2F@public.example/"),
        ("tab", f"http://127.0.0.1:{p}\t/"),
        ("newline", f"http://127.0.0.1:{p}/\r\nX-Injected: 1"),
        ("leading-space", f" http://127.0.0.1:{p}/"),
        ("nul-host", f"http://127.0.0.1%00.public.example:{p}/"),
        ("nul-userinfo", f"http://public.example%00@127.0.0.1:{p}/"),
        ("single-slash", f"http:/127.0.0.1:{p}/"),
        ("backslashes", f"http:\\\\127.0.0.1:{p}\\"),
        ("scheme-relative", f"//127.0.0.1:{p}/"),
        ("upper-scheme", f"HTTP://127.0.0.1:{p}/"),
        ("double-port", f"http://127.0.0.1:{p}:80/"),
        ("port-in-userinfo", f"http://public.example:{p}@127.0.0.1:{p}/"),
        ("fullwidth", f"http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54:{p}/"),
        ("ideographic-dots", f"http://127\u30020\u30020\u30021:{p}/"),
        ("circled-digits", f"http://\u2460\u2461\u2466.0.0.1:{p}/"),
        # other schemes
        ("file", "file:///etc/passwd"),
        ("gopher", f"gopher://127.0.0.1:{p}/_SET%20x"),
        ("ftp", f"ftp://127.0.0.1:{p}/"),
        ("dict", f"dict://127.0.0.1:{p}/info"),
        ("ws", f"ws://127.0.0.1:{p}/"),
        ("data", "data:text/plain,hello"),
        ("jar", f"jar:http://127.0.0.1:{p}/!/"),
        ("javascript", "javascript:alert(1)"),
        ("ldap", f"ldap://127.0.0.1:{p}/"),
        ("no-scheme", f"127.0.0.1:{p}/"),
        # odd ports on a public-looking name
        ("port-zero", "https://public.example:0/"),
        ("port-65536", "https://public.example:65536/"),
        ("port-negative", "https://public.example:-1/"),
        ("port-huge", "https://public.example:99999999999/"),
        ("port-ssh", "https://public.example:22/"),
        ("port-redis", "https://public.example:6379/"),
        ("port-plus", "https://public.example:+443/"),
        ("port-space", "https://public.example: 443/"),
        ("plain-http-public", "http://public.example/"),
        # DNS rebinding: the first lookup answers a public address, every later one loopback
        ("rebinding", f"https://{REBIND_HOST}:{p}/"),
    ]


@pytest.fixture(autouse=True)
def rebinding_resolver(monkeypatch):
    """`rebind.example` resolves to a public address once, then to 127.0.0.1 (a name whose
    owner changes its answer between the guard's check and the connection)."""
    real = socket.getaddrinfo
    answered = {"count": 0}

    def resolve(host, port, *args, **kwargs):
        if str(host).rstrip(".").lower() == REBIND_HOST:
            answered["count"] += 1
            address = REBIND_PUBLIC if answered["count"] == 1 else "127.0.0.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 443)))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return answered


# --- the paths ------------------------------------------------------------------------------------


class Images:
    """ImageAccess for the publishers: counts every presign it is asked for."""

    def __init__(self) -> None:
        self.presigned: list[tuple[str, str]] = []

    def url(self, request: PublishRequest, expires_seconds: int) -> str:
        self.presigned.append((request.image_bucket, request.image_key))
        return f"https://so-processed.s3.amazonaws.com/{request.image_key}?X-Amz-Signature=abc"

    def read(self, request: PublishRequest) -> bytes:
        return b"\xff\xd8\xff\xd9"


def request(target: str = "t", platform: str = "rest") -> PublishRequest:
    return PublishRequest(
        "asset-1",
        "v1",
        target,
        platform,
        "corr",
        "so-processed",
        f"processed/asset-1/v1/{target}.jpg",
        None,
        1080,
        1080,
        "image/jpeg",
        {"title": "Dune", "description": "Sand", "keywords": ["dune"]},
    )


def refused_outcome(outcome: Any) -> bool:
    return not outcome.ok


def via_rest_url(url: str) -> bool:
    try:
        endpoint = RestEndpoint.model_validate({"url": url, "auth": {"type": "bearer"}, "timeout_seconds": 2})
    except ValueError:
        return True
    result = RestPublisher(endpoint, {"token": SECRET}).publish(request(), Images(), MemoryProgress())
    return refused_outcome(result.outcome)


def via_rest_token_url(url: str) -> bool:
    endpoint = RestEndpoint.model_validate(
        {
            "url": "https://api.example.com/v1/posts",
            "timeout_seconds": 2,
            "auth": {"type": "oauth2_client_credentials", "token_url": url},
        }
    )
    result = RestPublisher(endpoint, {"client_id": "client", "client_secret": SECRET}).publish(
        request(), Images(), MemoryProgress()
    )
    return refused_outcome(result.outcome)


def lightroom_secret(**extra: Any) -> MemoryCredentials:
    return MemoryCredentials({"client_id": "lr-api-key", "access_token": SECRET, **extra})


def _lightroom_reached(client: LightroomClient) -> bool:
    client._sleep = lambda seconds: None  # its retries back off; the suite need not wait
    try:
        client.account()
    except (LightroomError, ConfigError):
        return False
    return True


def via_lightroom_base(url: str) -> bool:
    try:
        client = lightroom_client({"base_url": url, "album": "Publish"}, lightroom_secret())
    except ConfigError:
        return True
    return not _lightroom_reached(client)


def via_ims(url: str) -> bool:
    credentials = lightroom_secret(client_secret=SECRET, refresh_token=SECRET + "-refresh", expires_at=1)
    try:
        client = lightroom_client({"base_url": "https://lr.adobe.io", "album": "Publish", "ims_url": url}, credentials)
    except ConfigError:
        return True
    return not _lightroom_reached(client)  # the token is due: the first call refreshes it at ims_url


def production_target(platform: str, api_base_url: str) -> tuple[Any, dict[str, Any], MemoryCredentials]:
    module = {"x": x, "instagram": instagram, "facebook": facebook, "linkedin": linkedin}[platform]
    target: dict[str, Any] = {"name": "t", "platform": platform, "api_base_url": api_base_url, "timeout_seconds": 2}
    secret: dict[str, Any] = {"access_token": SECRET}
    if platform == "x":
        secret.update(client_id="x-client", client_secret=SECRET, refresh_token=SECRET + "-r", expires_at=1)
    elif platform == "instagram":
        target["ig_user_id"] = "17841400000000"
    elif platform == "facebook":
        target["page_id"] = "104857600000001"
        target["allowed_hosts"] = [api_base_url.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0]]
        secret = {"page_access_token": SECRET}
    else:
        target["author"] = "urn:li:person:abc123"
    return module, target, MemoryCredentials(secret)


def via_api_base(platform: str) -> Callable[[str], bool]:
    def drive(url: str) -> bool:
        module, target, credentials = production_target(platform, url)
        try:
            publisher = module.build(target, credentials)
        except ConfigError:
            return True
        progress = MemoryProgress()
        return refused_outcome(publisher.publish(request("t", platform), Images(), progress).outcome)

    return drive


def via_linkedin_saved_upload(url: str) -> bool:
    """A redelivery finds initializeUpload's answer saved and PUTs the bytes with the token."""
    module, target, credentials = production_target("linkedin", "https://api.linkedin.com")
    publisher = module.build(target, credentials)
    progress = MemoryProgress(
        {"image": {"urn": "urn:li:image:C4E1", "upload_url": url, "expires_at_ms": 4_102_444_800_000}}
    )
    return refused_outcome(publisher.publish(request("t", "linkedin"), Images(), progress).outcome)


def via_meta_image(platform: str) -> Callable[[str], bool]:
    """A PublishRequested whose variant names the hostile location: the URL Meta would fetch
    is presigned from it. Refused before any presign or platform call."""

    def drive(url: str) -> bool:
        images = Images()
        module, target, credentials = production_target(platform, "https://graph.facebook.com")
        publisher = module.build(target, credentials)
        service = PublishService(
            Publications(FakeStore()),
            images,
            RecordingSender(),
            "bus",
            lambda name: (publisher, target),
            own_target="t",
            variants_bucket="so-processed",
        )
        refused = True
        for variant in (
            {"bucket": "so-processed", "key": url},
            {"bucket": "so-raw", "key": "raw/asset-1/v1.jpg"},
            {"bucket": url[:63] or "x", "key": "processed/asset-1/v1/t.jpg"},
        ):
            event = new_event(
                "PublishRequested",
                "asset-1",
                {
                    "target": "t",
                    "platform": platform,
                    "version": "v1",
                    "metadata": {"title": "Dune"},
                    "variant": {**variant, "width": 1080, "height": 1080},
                },
            )
            try:
                service.handle(event)
                refused = False
            except PermanentFailure:
                pass
        return refused and not images.presigned

    return drive


class _Server:
    """A legitimate API on loopback whose answers name the hostile URL."""

    def __init__(self, answer: Callable[[BaseHTTPRequestHandler, str], None]) -> None:
        self.hostile = ""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                answer(self, server.hostile)

            do_POST = do_PUT = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _json(
    handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    data = ("while (1) {}\n" + json.dumps(body)).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


def _lightroom_pages(handler: BaseHTTPRequestHandler, hostile: str) -> None:
    if handler.path.endswith("/v2/catalog"):
        _json(handler, 200, {"id": "cat1"})
    elif "/albums" in handler.path and "page" not in handler.path:
        # Page one: the next page is the hostile URL, as an absolute href.
        _json(handler, 200, {"base": handler.path, "resources": [], "links": {"next": {"href": hostile}}})
    else:
        _json(handler, 404, {"code": 1000, "description": "no such page"})


def _lightroom_base(handler: BaseHTTPRequestHandler, hostile: str) -> None:
    if handler.path.endswith("/v2/catalog"):
        _json(handler, 200, {"id": "cat1"})
    else:  # page one names the hostile URL as `base`, with a relative next href
        _json(handler, 200, {"base": hostile, "resources": [], "links": {"next": {"href": "albums?page=2"}}})


def _linkedin_initialize(handler: BaseHTTPRequestHandler, hostile: str) -> None:
    if "initializeUpload" in handler.path:
        _json(
            handler,
            200,
            {"value": {"image": "urn:li:image:C4E1", "uploadUrl": hostile, "uploadUrlExpiresAt": 4_102_444_800_000}},
        )
    else:
        _json(handler, 404, {"status": 404, "code": "NOT_FOUND", "message": "no"})


def _redirect(handler: BaseHTTPRequestHandler, hostile: str) -> None:
    handler.send_response(307)
    handler.send_header("Location", hostile)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


@pytest.fixture(scope="module")
def servers():
    made = {
        "pages": _Server(_lightroom_pages),
        "base": _Server(_lightroom_base),
        "linkedin": _Server(_linkedin_initialize),
        "redirect": _Server(_redirect),
    }
    yield made
    for server in made.values():
        server.close()


def via_pagination(server: _Server) -> Callable[[str], bool]:
    def drive(url: str) -> bool:
        server.hostile = url
        client = LightroomClient(
            server.url, "lr-api-key", SECRET, allow_private_network=True, max_retries=0, timeout=(2, 2)
        )
        try:
            list(client.albums())
        except LightroomError:
            return True
        return False

    return drive


def via_linkedin_initialize(server: _Server) -> Callable[[str], bool]:
    def drive(url: str) -> bool:
        server.hostile = url
        target = {**linkedin_target(server.url), "allow_private_network": True}
        publisher = linkedin.build(target, MemoryCredentials({"access_token": SECRET}))
        return refused_outcome(publisher.publish(request("t", "linkedin"), Images(), MemoryProgress()).outcome)

    return drive


def linkedin_target(api: str) -> dict[str, Any]:
    return {
        "name": "t",
        "platform": "linkedin",
        "api_base_url": api,
        "author": "urn:li:person:abc123",
        "timeout_seconds": 2,
        "image_wait_seconds": 0,
    }


def via_redirect_rest(server: _Server) -> Callable[[str], bool]:
    def drive(url: str) -> bool:
        server.hostile = url
        endpoint = RestEndpoint.model_validate(
            {
                "url": server.url + "/v1/posts",
                "auth": {"type": "bearer"},
                "allow_private_network": True,
                "timeout_seconds": 2,
            }
        )
        result = RestPublisher(endpoint, {"token": SECRET}).publish(request(), Images(), MemoryProgress())
        return refused_outcome(result.outcome)

    return drive


def via_redirect_lightroom(server: _Server) -> Callable[[str], bool]:
    def drive(url: str) -> bool:
        server.hostile = url
        client = lightroom_client(
            {"base_url": server.url, "album": "Publish", "allow_private_network": True}, lightroom_secret()
        )
        return not _lightroom_reached(client)

    return drive


PRODUCTION_PATHS: dict[str, Callable[[str], bool]] = {
    "rest url": via_rest_url,
    "rest token_url": via_rest_token_url,
    "lightroom base_url": via_lightroom_base,
    "ims_url": via_ims,
    "linkedin upload url (saved)": via_linkedin_saved_upload,
    "x api_base_url": via_api_base("x"),
    "instagram api_base_url": via_api_base("instagram"),
    "facebook api_base_url": via_api_base("facebook"),
    "linkedin api_base_url": via_api_base("linkedin"),
    "instagram image url": via_meta_image("instagram"),
    "facebook image url": via_meta_image("facebook"),
}


def test_no_hostile_url_reaches_the_listener_on_any_path(listener, servers, outside_attempts, rebinding_resolver):
    urls = hostile_urls(listener.port)
    assert len(urls) >= 80
    paths = dict(PRODUCTION_PATHS)
    paths.update(
        {
            "lightroom pagination link": via_pagination(servers["pages"]),
            "lightroom pagination base": via_pagination(servers["base"]),
            "linkedin upload url (initializeUpload)": via_linkedin_initialize(servers["linkedin"]),
            "rest redirect": via_redirect_rest(servers["redirect"]),
            "lightroom redirect": via_redirect_lightroom(servers["redirect"]),
        }
    )
    not_refused: list[tuple[str, str]] = []
    before = listener.connections
    for path, drive in paths.items():
        for label, url in urls:
            rebinding_resolver["count"] = 0
            if not drive(url):
                not_refused.append((path, label))
        tally.count("ssrf", "paths", 1)
    tally.count("ssrf", "hostile URLs", len(urls))
    tally.count("ssrf", "attempts (URL x path)", len(urls) * len(paths))
    tally.count("ssrf", "requests that reached the listener", listener.connections - before)
    tally.count("ssrf", "attempts not refused", len(not_refused))
    assert listener.connections == before, listener.received[:3]
    assert not_refused == []
    # The only address outside loopback anything tried is the rebinding name's first, checked answer.
    assert {host for host, _ in outside_attempts} <= {REBIND_PUBLIC}
    tally.count("ssrf", "connections pinned to the checked address of a rebinding name", len(outside_attempts))


def test_the_listener_does_see_an_unguarded_request(listener):
    """The suite's own control: without the guard, the same listener is reached (so 0 above
    means refused, not unreachable)."""
    import requests

    before = listener.connections
    requests.get(f"http://127.0.0.1:{listener.port}/", timeout=2)
    assert listener.connections == before + 1


def test_a_rebinding_name_is_resolved_once_and_connected_to_as_checked(listener, outside_attempts, rebinding_resolver):
    before = listener.connections
    endpoint = RestEndpoint.model_validate(
        {"url": f"https://{REBIND_HOST}:{listener.port}/v1/posts", "auth": {"type": "bearer"}, "timeout_seconds": 2}
    )
    result = RestPublisher(endpoint, {"token": SECRET}).publish(request(), Images(), MemoryProgress())
    assert (result.outcome.kind, result.outcome.code) == ("retryable", "connection_error")
    assert rebinding_resolver["count"] == 1  # one lookup, the one that was checked
    assert outside_attempts == [(REBIND_PUBLIC, listener.port)]
    assert listener.connections == before
