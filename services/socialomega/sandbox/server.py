"""Serve the sandbox fakes over real HTTP on 127.0.0.1, in-process (pytest) or as a program.

    with Sandbox(seed=7) as sb:                      # ephemeral ports
        creds = sb.credentials
        client = LightroomClient(sb.lightroom_url, creds["lightroom_api_key"], creds["lightroom_token"],
                                 allow_private_network=True)
        ...
        new_version = sb.edit_photo(asset_id, title="new")   # or POST {sb.lightroom_url}/_sandbox/...
        sb.fail_rest_next(2, status=500)
        sb.rest_posts()                                      # what the REST target accepted
        sb.engage("instagram", media_id, "like", 3)          # fans' engagement (sandbox/engagement.py)
        sb.advance_clock(3600)                               # the social fakes' shared virtual clock

URLs have no trailing slash (`http://127.0.0.1:<port>`).

Credentials are fixed sandbox values, not secrets:
  Lightroom:   X-API-Key `sandbox-client-id`, `Authorization: Bearer sandbox-access-token`
  REST target: see `socialomega.sandbox.rest_target` (api key, basic, bearer, OAuth2 client).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from socialomega.sandbox import control, engagement, facebook, instagram, lightroom, linkedin, rest_target, x
from socialomega.sandbox import photos as photo_gen


class _QuietHandlerServer:
    """A threaded werkzeug server on its own thread."""

    def __init__(self, app: Any, host: str, port: int, quiet: bool) -> None:
        self.server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self.server.daemon_threads = True  # type: ignore[attr-defined]
        if quiet:
            # werkzeug logs every request through the "werkzeug" logger; the handler class
            # method is the narrowest place to silence it for this server only.
            handler = self.server.RequestHandlerClass
            assert isinstance(handler, type)  # werkzeug's WSGIRequestHandler (typeshed: any callable)
            self.server.RequestHandlerClass = type("QuietHandler", (handler,), {"log_request": lambda *a, **k: None})
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"sandbox-{port}", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        assert isinstance(host, str)  # an AF_INET(6) server's bound address: getsockname() gives a str host
        return f"http://{host}:{port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


# platform -> (its fake's module, with `sandbox_target()` and `sandbox_secret()`; the WSGI app class)
SOCIAL_FAKES: dict[str, tuple[ModuleType, Callable[..., control.SandboxControl]]] = {
    "instagram": (instagram, instagram.InstagramFake),
    "x": (x, x.XFake),
    "facebook": (facebook, facebook.FacebookPageFake),
    "linkedin": (linkedin, linkedin.LinkedInFake),
}
# Fixed ports for `make demo`, `python -m socialomega.sandbox` and the compose stack, each
# movable with SANDBOX_<NAME>_PORT (tests use ephemeral ones).
DEMO_PORTS = {
    name: int(os.environ.get(f"SANDBOX_{name.upper()}_PORT") or default)
    for name, default in {
        "lightroom": 8701,
        "rest": 8702,
        "instagram": 8703,
        "x": 8704,
        "facebook": 8705,
        "linkedin": 8706,
    }.items()
}


def fixed_credentials() -> dict[str, str]:
    """The sandbox fakes' fixed public test credentials (not secrets), minus URLs."""
    return {
        "lightroom_api_key": lightroom.API_KEY,
        "lightroom_token": lightroom.ACCESS_TOKEN,
        "lightroom_client_secret": lightroom.CLIENT_SECRET,
        "lightroom_refresh_token": lightroom.REFRESH_TOKEN,
        "rest_api_key": rest_target.API_KEY,
        "rest_readonly_api_key": rest_target.READONLY_API_KEY,
        "rest_basic_username": rest_target.BASIC_USER,
        "rest_basic_password": rest_target.BASIC_PASSWORD,
        "rest_bearer_token": rest_target.STATIC_BEARER,
        "oauth_client_id": rest_target.CLIENT_ID,
        "oauth_client_secret": rest_target.CLIENT_SECRET,
    }


@contextmanager
def serve(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve one WSGI app on a thread for the duration of a `with` block; yields its URL."""
    server = _QuietHandlerServer(app, host, port, quiet=True)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


class Sandbox:
    """Both fakes (Lightroom and the generic REST target) on threaded HTTP servers.

    Ports default to 0 (ephemeral). `lightroom_url` / `rest_url` have no trailing slash.
    `lightroom` and `rest` are the WSGI apps, so tests can reach their state directly.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        lightroom_port: int = 0,
        rest_port: int = 0,
        seed: int = 1,
        photo_count: int | None = None,
        include_corrupt: bool = False,
        quiet: bool = True,
        social_ports: dict[str, int] | None = None,
    ) -> None:
        self.host = host
        self.quiet = quiet
        self.lightroom = lightroom.LightroomFake(seed=seed, count=photo_count, include_corrupt=include_corrupt)
        self.rest = rest_target.RestTarget()
        # The social platform fakes, by platform name (`instagram`, `x`, `facebook`, `linkedin`), on
        # one virtual clock (engagement ages, insights, Instagram/LinkedIn token lifetimes).
        self.clock = engagement.SandboxClock()
        self.social: dict[str, control.SandboxControl] = {
            name: app(clock=self.clock) for name, (_, app) in SOCIAL_FAKES.items()
        }
        self._ports = {
            "lightroom": lightroom_port,
            "rest": rest_port,
            **{name: (social_ports or {}).get(name, 0) for name in self.social},
        }
        self._servers: dict[str, _QuietHandlerServer] = {}

    def start(self) -> Sandbox:
        if self._servers:
            return self
        apps = {"lightroom": self.lightroom, "rest": self.rest, **self.social}
        try:
            for name, app in apps.items():
                server = _QuietHandlerServer(app, self.host, self._ports[name], self.quiet)
                self._servers[name] = server
                server.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        servers, self._servers = self._servers, {}
        for server in servers.values():
            server.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, name: str) -> str:
        """Base URL of one fake: `lightroom`, `rest` or a social platform name."""
        if name not in self._servers:
            raise RuntimeError(f"sandbox is not started (or has no fake named {name!r})")
        return self._servers[name].url

    @property
    def lightroom_url(self) -> str:
        return self.url("lightroom")

    @property
    def rest_url(self) -> str:
        return self.url("rest")

    @property
    def urls(self) -> dict[str, str]:
        return {name: server.url for name, server in self._servers.items()}

    @property
    def credentials(self) -> dict[str, str]:
        """Fixed sandbox credentials (not secrets)."""
        return {**fixed_credentials(), "oauth_token_url": self.rest_url + "/oauth/token"}

    # --- conveniences for tests and the demo (same effects as the HTTP control APIs) ------------
    def photos(self) -> list[SandboxPhoto]:
        state = self.lightroom.state
        with state.lock:
            members = {
                aid
                for album in state.albums.values()
                for aid in album.asset_ids
                if album.name == photo_gen.PUBLISH_ALBUM
            }
            return [SandboxPhoto.of(asset, asset.id in members) for asset in state.assets.values()]

    def selected_photos(
        self, album: str | None = photo_gen.PUBLISH_ALBUM, keyword: str | None = None
    ) -> list[SandboxPhoto]:
        """Photos a poller configured with this album and/or keyword must pick up (corrupt
        ones included: filter on `.corrupt`)."""
        state = self.lightroom.state
        with state.lock:
            members = set(state.album_by_name(album).asset_ids) if album else None
            out = []
            for asset in state.assets.values():
                if members is not None and asset.id not in members:
                    continue
                if keyword and keyword.lower() not in {k.lower() for k in asset.keywords}:
                    continue
                out.append(SandboxPhoto.of(asset, members is not None and asset.id in members))
            return out

    def edit_photo(self, asset_id: str, **changes: Any) -> str:
        """Edit a photo (title=, description=, keywords=, develop=True); returns its new version."""
        return lightroom._ts(self.lightroom.state.edit(asset_id, changes).updated)

    def add_photo(self, *, in_album: bool = True, corrupt: bool = False) -> SandboxPhoto:
        asset = self.lightroom.state.add_photo(in_album=in_album, corrupt=corrupt)
        return SandboxPhoto.of(asset, in_album or corrupt)

    def fail_lightroom_next(
        self,
        count: int,
        status: int | None = 503,
        retry_after: float | None = None,
        delay: float = 0.0,
        path_contains: str | None = None,
    ) -> None:
        """The next `count` Lightroom API calls answer `status` (429 with an empty body and
        `Retry-After` if given, 500/502/503/504), after sleeping `delay` seconds; with
        `status=None` they are only delayed (to trip a client timeout)."""
        state = self.lightroom.state
        with state.lock:
            state.faults.append(
                lightroom._Fault(
                    status=status,
                    remaining=count,
                    path_contains=path_contains,
                    retry_after=None if retry_after is None else str(retry_after),
                    delay=delay,
                )
            )

    def expire_lightroom_token(self, expired: bool = True) -> None:
        self.lightroom.state.expire_tokens(expired)

    def fail_rest_next(
        self,
        count: int,
        status: int = 500,
        retry_after: int = 1,
        delay: float | None = None,
        path_contains: str | None = None,
    ) -> None:
        """The next `count` REST target calls answer `status` (500 or 429 + Retry-After, or 400
        quoting the request's headers back, credentials included, as careless APIs do), or, with
        `delay`, are delayed (and then processed) -- longer than a client timeout."""
        kind = "delay" if delay is not None else {400: "echo"}.get(status, str(status))
        if kind not in ("500", "429", "echo", "delay"):
            raise ValueError("status must be 500, 429 or 400 (or give a delay)")
        with self.rest.lock:
            self.rest.faults.append(
                rest_target._Fault(
                    kind=kind, remaining=count, retry_after=retry_after, delay=delay or 0.0, path_contains=path_contains
                )
            )

    def social_posts(self, platform: str) -> list[dict[str, Any]]:
        """What one social fake published (its `/_sandbox/posts`)."""
        return self.social[platform].posts()

    def fail_social_next(self, platform: str, kind: str, count: int = 1, **options: Any) -> None:
        """The next `count` calls to a social fake fail: kind `500`, `429` (with the platform's
        rate-limit headers), `timeout` (no effect, late 504) or `slow_accept` (done, late answer)."""
        self.social[platform].fail_next(kind, count, **options)

    # --- engagement ground truth (sandbox/engagement.py; the same as each fake's /_sandbox API) ---
    def _engaged(self, platform: str) -> engagement.EngagementControl:
        fake = self.social[platform]
        assert isinstance(fake, engagement.EngagementControl)  # every social fake keeps the truth
        return fake

    def engage(
        self, platform: str, post_id: str, kind: str, count: int = 1, remove: bool = False, notify: bool = False
    ) -> dict[str, Any]:
        """A fan's like/comment/share/save (or its removal) on a post; the post's truth after it
        (`notify`: the platform's webhooks delivered too, see engagement.EngagementControl.engage)."""
        return self._engaged(platform).engage(post_id, kind, count, remove, notify)

    def engagement(self, platform: str, post_id: str | None = None) -> list[dict[str, Any]]:
        """The truth of a platform's posts as it would report them now (derived metrics included)."""
        return self._engaged(platform).engagement(post_id)

    def advance_clock(self, seconds: float) -> float:
        """Move the social fakes' shared clock forward; the new now (epoch seconds)."""
        return self.clock.advance(seconds)

    def set_webhook_url(self, platform: str, url: str | None) -> None:
        """Where the platform's fake sends its signed notifications (None: nowhere)."""
        self._engaged(platform).set_webhook_url(url)

    def freeze_clock(self) -> float:
        """Stop the social fakes' shared clock (tests comparing time-derived figures); the frozen now."""
        return self.clock.freeze()

    def thaw_clock(self) -> None:
        return self.clock.thaw()

    def grant(self, platform: str, *scopes: str) -> list[str]:
        return self._engaged(platform).grant(*scopes)

    def revoke(self, platform: str, *scopes: str) -> list[str]:
        return self._engaged(platform).revoke(*scopes)

    def delete_post(self, platform: str, post_id: str) -> None:
        self._engaged(platform).delete_post(post_id)

    def rest_posts(self) -> list[dict[str, Any]]:
        """What the REST target accepted (posts and media), each with `target`, `asset_id` and
        `version` taken from the `Idempotency-Key` our publisher sends
        (`socialomega:<asset>:<version>:<target>`), else from the JSON body."""
        with self.rest.lock:
            received = [dict(item) for item in self.rest.received]
        return annotate_received(received)


def annotate_received(received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add `target`, `asset_id`, `version` to what the REST target accepted (as listed by
    `Sandbox.rest_posts` or `GET /_sandbox/received` on the REST port)."""
    for item in received:
        key = next((v for k, v in item.get("headers", {}).items() if k.lower() == "idempotency-key"), "")
        target = asset_id = version = None
        if key.startswith("socialomega:"):
            _, asset_id, rest = key.split(":", 2)
            version, _, target = rest.rpartition(":")
        body = item.get("json") or item.get("form") or {}
        item["asset_id"] = asset_id or body.get("asset_id")
        item["version"] = version or body.get("version")
        item["target"] = target or body.get("target")
    return received


@dataclass
class SandboxPhoto:
    id: str
    version: str
    title: str
    keywords: list[str]
    width: int  # displayed (upright) size
    height: int
    orientation: int
    gps: bool
    in_album: bool
    corrupt: bool
    file_name: str

    @classmethod
    def of(cls, asset: Any, in_album: bool) -> SandboxPhoto:
        p = asset.photo
        return cls(
            id=asset.id,
            version=lightroom._ts(asset.updated),
            title=asset.title,
            keywords=list(asset.keywords),
            width=p.width,
            height=p.height,
            orientation=p.orientation,
            gps=p.gps is not None,
            in_album=in_album,
            corrupt=p.corrupt,
            file_name=p.file_name,
        )

    def displayed_size(self) -> tuple[int, int]:
        return self.width, self.height
