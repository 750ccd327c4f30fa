"""Attacks on the engagement webhook endpoint: forged, altered, replayed, oversized and
hostile-but-signed notifications, minted signatures and challenge abuse, for Meta (Facebook,
Instagram), X and LinkedIn, against the real `WebhookService` and the Lambda `handler` entry.

The fakes behave like the AWS services where it matters here: the store refuses keys over S3's
1,024 bytes, and the sender serialises every event and refuses one over EventBridge's 256 KiB.
Every case must end in a 2xx or a deliberate 4xx: never a 500, never an exception.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialomega.analytics.aggregate import Aggregator
from socialomega.analytics.daily import post_engagement
from socialomega.core.store import UNREADABLE_PREFIX, post_index_key
from socialomega.sandbox import webhooks as platform_side
from socialomega.webhooks import handler as webhook_handler
from socialomega.webhooks.service import (
    MAX_BODY_BYTES,
    MAX_ENGAGEMENTS,
    UNREADABLE_KEPT_BYTES,
    UNREADABLE_SLOTS,
    WebhookRequest,
    WebhookService,
)
from socialomega.webhooks.signatures import Answer, WebhookKeys
from tests.security import tally
from tests.unit.fakes import FakeStore, RecordingSender

SUITE = "webhooks"
PLATFORMS = ("facebook", "instagram", "x", "linkedin")
KEYS = WebhookKeys.from_secret(platform_side.sandbox_secret())
OUR_POST = {
    "facebook": "104857600000001_5",
    "instagram": "18000000000000001",
    "x": "1850000000000000001",
    "linkedin": "urn:li:share:7000000000000000001",
}
KIND = {"facebook": "like", "instagram": "comment", "x": "like", "linkedin": "like"}
COUNTER = {"like": "likes", "comment": "comments", "share": "shares"}
HEADER = {
    "facebook": "x-hub-signature-256",
    "instagram": "x-hub-signature-256",
    "x": "x-twitter-webhooks-signature",
    "linkedin": "x-li-signature",
}
S3_MAX_KEY_BYTES = 1024
EVENTBRIDGE_MAX_ENTRY_BYTES = 256 * 1024
X_TOKEN_BODY = re.compile(rb"[A-Za-z0-9+/=_-]{1,256}")  # what a CRC answer can sign (signatures.py)


# --------------------------------------------------------------------------- the rig
class S3LikeStore(FakeStore):
    """FakeStore with S3's key limit; counts the objects written under each prefix."""

    def __init__(self) -> None:
        super().__init__()
        self.written: Counter[str] = Counter()

    @staticmethod
    def _check(key: str, operation: str) -> None:
        if len(key.encode("utf-8", "surrogatepass")) > S3_MAX_KEY_BYTES:
            raise ClientError(
                {
                    "Error": {"Code": "KeyTooLongError", "Message": "Your key is too long"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                operation,
            )

    def get(self, key):
        self._check(key, "GetObject")
        return super().get(key)

    def put(self, key, data):
        self._check(key, "PutObject")
        json.dumps(data).encode()  # the real store serialises as UTF-8 JSON: this must not fail
        self.written[key] += 1
        return super().put(key, data)

    def claim(self, key, data):
        self._check(key, "PutObject")
        return super().claim(key, data)


class StrictSender(RecordingSender):
    """RecordingSender that serialises each event as EventSender does and applies EventBridge's size limit."""

    def to_bus(self, bus, envelope, source):
        detail = envelope.to_json().encode()
        if len(detail) > EVENTBRIDGE_MAX_ENTRY_BYTES:
            raise RuntimeError("EventBridge ValidationException: entry above 256 KiB")
        super().to_bus(bus, envelope, source)


class Rig:
    """A WebhookService over the strict fakes, with our post indexed on every platform, and the
    outcome of every call counted: answers of 500 and exceptions that escaped."""

    def __init__(self, keys: WebhookKeys = KEYS) -> None:
        self.store, self.sender = S3LikeStore(), StrictSender()
        for platform, remote_id in OUR_POST.items():
            self.store.put(
                post_index_key(platform, remote_id),
                {
                    "platform": platform,
                    "remote_id": remote_id,
                    "target": platform,
                    "asset_id": f"asset-{platform}",
                    "version": "v1",
                    "correlation_id": f"corr-{platform}",
                },
            )
        self.store.written.clear()
        self.baseline = set(self.store.docs)
        self.service = WebhookService(self.store, self.sender, "bus", lambda: keys)
        self.failures: Counter[str] = Counter({"answers of 500": 0, "unhandled exceptions": 0})
        self.errors: list[str] = []

    def call(self, request: WebhookRequest) -> Answer | None:
        try:
            answer = self.service.handle(request)
        except Exception as exc:  # noqa: BLE001 - counting exactly these is the point
            self.failures["unhandled exceptions"] += 1
            self.errors.append(f"{request.platform}: {type(exc).__name__}: {str(exc)[:200]}")
            return None
        if answer.status >= 500:
            self.failures["answers of 500"] += 1
            self.errors.append(f"{request.platform}: {answer.status} {answer.body[:200]}")
        return answer

    def call_handler(self, monkeypatch: pytest.MonkeyPatch, event: dict[str, Any]) -> dict[str, Any] | None:
        monkeypatch.setattr(webhook_handler, "_service", lambda: self.service)
        try:
            answer = webhook_handler.handler(event, None)
        except Exception as exc:  # noqa: BLE001
            self.failures["unhandled exceptions"] += 1
            self.errors.append(f"handler: {type(exc).__name__}: {str(exc)[:200]}")
            return None
        if answer["statusCode"] >= 500:
            self.failures["answers of 500"] += 1
            self.errors.append(f"handler: {answer['statusCode']} {answer['body'][:200]}")
        return answer

    def new_keys(self) -> set[str]:
        return set(self.store.docs) - self.baseline

    def unreadable_written(self) -> int:
        return sum(1 for key in self.store.written if key.startswith(UNREADABLE_PREFIX + "/"))

    def settle(self) -> None:
        """Record this rig's failure figures and assert there were none."""
        for what, n in self.failures.items():
            tally.count(SUITE, what, n)
        tally.count(SUITE, "unreadable objects written", self.unreadable_written())
        assert not self.errors, self.errors[:10]
        # The webhook function may write only under webhooks/unreadable/ (its IAM policy).
        assert all(key.startswith(UNREADABLE_PREFIX + "/") for key in self.store.written), list(self.store.written)


@pytest.fixture
def rig() -> Iterator[Rig]:
    made = Rig()
    yield made
    made.settle()


def body_of(platform: str, kind: str | None = None, post: str | None = None) -> bytes:
    return json.dumps(platform_side.notification(platform, kind or KIND[platform], post or OUR_POST[platform])).encode()


def signed(platform: str, body: bytes) -> WebhookRequest:
    name, value = platform_side.signature_header(platform, body)
    return WebhookRequest("POST", platform, {}, {name.lower(): value}, body)


def post_event(platform: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "httpMethod": "POST",
        "pathParameters": {"platform": platform},
        "headers": headers,
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
        "requestContext": {"requestId": "r"},
    }


def get_event(platform: str, query: dict[str, str]) -> dict[str, Any]:
    return {
        "httpMethod": "GET",
        "pathParameters": {"platform": platform},
        "queryStringParameters": query,
        "headers": {},
        "body": None,
        "requestContext": {"requestId": "r"},
    }


def _mac(key: str, message: bytes, digest=hashlib.sha256) -> bytes:
    return hmac.new(key.encode(), message, digest).digest()


def _secret(platform: str) -> str:
    return {
        "facebook": platform_side.META_APP_SECRET,
        "instagram": platform_side.META_APP_SECRET,
        "x": platform_side.X_CONSUMER_SECRET,
        "linkedin": platform_side.LINKEDIN_CLIENT_SECRET,
    }[platform]


def signature_with(platform: str, key: str, body: bytes) -> str:
    """The platform's signature scheme, with any key."""
    if platform in ("facebook", "instagram"):
        return "sha256=" + _mac(key, body).hex()
    if platform == "x":
        return "sha256=" + base64.b64encode(_mac(key, body)).decode()
    return _mac(key, b"hmacsha256=" + body).hex()


# --------------------------------------------------------------------------- the genuine path works
def test_genuine_notifications_are_recorded_on_every_platform(rig):
    # The control: the rig rejects forgeries below because they are forged, not because it rejects everything.
    for platform in PLATFORMS:
        answer = rig.call(signed(platform, body_of(platform)))
        assert answer is not None and answer.status == 200 and json.loads(answer.body)["recorded"] == 1, platform
    assert len(rig.sender.bus) == 4 and rig.new_keys() == set()


# --------------------------------------------------------------------------- forged
def forgeries(platform: str) -> Iterator[tuple[str, dict[str, str], bytes]]:
    """(name, headers, body): signature headers made without the platform's key over this body."""
    body = body_of(platform)
    header = HEADER[platform]
    genuine = signature_with(platform, _secret(platform), body)
    other_body = body_of(platform)  # another notification (the sandbox numbers each one)
    other_key = KEYS.x_consumer_secret if platform != "x" else KEYS.meta_app_secret
    yield "no signature", {}, body
    yield "empty signature", {header: ""}, body
    yield "blank signature", {header: "   "}, body
    yield "zeros", {header: re.sub(r"[0-9a-fA-F]", "0", genuine)}, body
    yield "wrong key", {header: signature_with(platform, "guessed-secret", body)}, body
    yield "empty key", {header: signature_with(platform, "", body)}, body
    yield "another platform's key", {header: signature_with(platform, other_key, body)}, body
    yield "another body's signature", {header: signature_with(platform, _secret(platform), other_body)}, body
    yield "signature of the empty body", {header: signature_with(platform, _secret(platform), b"")}, body
    yield (
        "plain sha256 of the body (no key)",
        {header: ("" if platform == "linkedin" else "sha256=") + hashlib.sha256(body).hexdigest()},
        body,
    )
    yield "truncated", {header: genuine[:-1]}, body
    yield "truncated to the prefix", {header: genuine[:7]}, body
    yield "half a signature", {header: genuine[: len(genuine) // 2]}, body
    yield "extended", {header: genuine + "0"}, body
    yield "extended with padding", {header: genuine + "="}, body
    yield "doubled", {header: genuine + genuine}, body
    yield "last character changed", {header: genuine[:-2] + ("0" if genuine[-2] != "0" else "1") + genuine[-1]}, body
    yield "lone surrogate for the last character", {header: genuine[:-1] + "\ud800"}, body
    lookalike = genuine.replace("a", "\u0430", 1) if "a" in genuine else genuine + "\u0430"
    yield "cyrillic look-alike", {header: lookalike}, body
    wrong = signature_with(platform, "guessed-secret", body)
    yield "whitespace around a wrong one", {header: " \t" + wrong + "\t "}, body
    yield "newline then a wrong one", {header: "\n" + signature_with(platform, "guessed-secret", body)}, body


def respellings(platform: str) -> Iterator[tuple[str, dict[str, str], bytes]]:
    """(name, headers, body): the genuine MAC (made with the key), spelt otherwise than the
    platform spells it. Not forgeries (the key was needed), but not the platform's header either:
    refused, so only one spelling is ever accepted."""
    body = body_of(platform)
    header = HEADER[platform]
    genuine = signature_with(platform, _secret(platform), body)
    mac = _mac(_secret(platform), body)
    sha1 = _mac(_secret(platform), body, hashlib.sha1)
    variants = [
        ("newline after", {header: genuine + "\n"}),
        ("crlf after", {header: genuine + "\r\n"}),
        ("nul after", {header: genuine + "\x00"}),
        ("no-break space before", {header: "\u00a0" + genuine}),
        ("line separator after", {header: genuine + "\u2028"}),
        ("space inside", {header: genuine[:10] + " " + genuine[10:]}),
        ("comma list of a wrong and the right one", {header: f"sha256=00, {genuine}"}),
    ]
    if platform in ("facebook", "instagram"):
        variants += [
            ("upper-case hex", {header: "sha256=" + mac.hex().upper()}),
            ("upper-case prefix", {header: "SHA256=" + mac.hex()}),
            ("sha1 prefix and mac", {header: "sha1=" + sha1.hex()}),
            ("sha512 prefix", {header: "sha512=" + mac.hex()}),
            ("no prefix", {header: mac.hex()}),
            ("base64 instead of hex", {header: "sha256=" + base64.b64encode(mac).decode()}),
            ("legacy x-hub-signature header (sha1)", {"x-hub-signature": "sha1=" + sha1.hex()}),
            ("in X's header", {"x-twitter-webhooks-signature": genuine}),
        ]
    elif platform == "x":
        variants += [
            ("hex instead of base64", {header: "sha256=" + mac.hex()}),
            ("urlsafe base64", {header: "sha256=" + base64.urlsafe_b64encode(mac).decode()}),
            ("unpadded base64", {header: "sha256=" + base64.b64encode(mac).decode().rstrip("=")}),
            ("upper-case prefix", {header: "SHA256=" + base64.b64encode(mac).decode()}),
            ("no prefix", {header: base64.b64encode(mac).decode()}),
            ("sha1 prefix and mac", {header: "sha1=" + base64.b64encode(sha1).decode()}),
            ("in Meta's header", {"x-hub-signature-256": genuine}),
        ]
    else:
        li_mac = _mac(_secret(platform), b"hmacsha256=" + body)
        variants += [
            ("upper-case hex", {header: li_mac.hex().upper()}),
            ("hmacsha256= prefix on the header", {header: "hmacsha256=" + li_mac.hex()}),
            ("sha256= prefix on the header", {header: "sha256=" + li_mac.hex()}),
            ("mac of the body without the prefix", {header: mac.hex()}),
            ("base64 instead of hex", {header: base64.b64encode(li_mac).decode()}),
            ("in Meta's header", {"x-hub-signature-256": genuine}),
        ]
    for name, headers in variants:  # a variant equal to the genuine spelling (e.g. hex without a-f) is no test
        if headers.get(header, "").strip(" \t") != genuine:
            yield name, headers, body


def attempt(rig: Rig, monkeypatch, platform: str, headers: dict[str, str], body: bytes, via_handler: bool) -> bool:
    """Send one request; True if it got anywhere: a 2xx, an event, or a stored document."""
    events, docs = len(rig.sender.bus), set(rig.store.docs)
    if via_handler:
        result = rig.call_handler(monkeypatch, post_event(platform, body, headers))
        status = None if result is None else result["statusCode"]
    else:
        answer = rig.call(WebhookRequest("POST", platform, {}, headers, body))
        status = None if answer is None else answer.status
    return (status is not None and status < 300) or len(rig.sender.bus) > events or set(rig.store.docs) != docs


@pytest.mark.parametrize("platform", PLATFORMS)
def test_forged_and_respelled_signatures_are_refused(rig, platform, monkeypatch):
    figures = Counter()
    for kind, cases in (("forged", forgeries(platform)), ("respelled", respellings(platform))):
        for name, headers, body in cases:
            for via_handler in (False, True):
                figures[kind] += 1
                if attempt(rig, monkeypatch, platform, headers, body, via_handler):
                    figures[kind + " accepted"] += 1
                    rig.errors.append(f"{kind} {name} ({'handler' if via_handler else 'service'}) accepted")
    # The control: HTTP's optional whitespace (space, tab) around the genuine value is no respelling.
    body = body_of(platform)
    name, value = platform_side.signature_header(platform, body)
    assert attempt(rig, monkeypatch, platform, {name.lower(): f" \t{value}\t "}, body, False) is True
    tally.count(SUITE, "forged requests", figures["forged"])
    tally.count(SUITE, "forgeries accepted", figures["forged accepted"])
    tally.count(SUITE, "respelled genuine signatures", figures["respelled"])
    tally.count(SUITE, "respelled signatures accepted", figures["respelled accepted"])
    assert figures["forged accepted"] == figures["respelled accepted"] == 0


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_signed_body_with_any_one_byte_changed_is_refused(rig, platform):
    body = body_of(platform)
    name, value = platform_side.signature_header(platform, body)
    altered = accepted = 0
    changes = [body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :] for i in range(len(body))]
    changes += [
        changed
        for extra in (b" ", b"\n", b"\x00", b"}")  # and one byte more, or one less
        for changed in (body + extra, extra + body, body[:-1])
    ]
    for changed in changes:
        altered += 1
        accepted += attempt(rig, None, platform, {name.lower(): value}, changed, via_handler=False)
    tally.count(SUITE, "altered bodies", altered)
    tally.count(SUITE, "forgeries accepted", accepted)
    assert accepted == 0 and rig.sender.bus == [] and rig.new_keys() == set()


def test_challenge_answers_cannot_sign_a_notification(rig, monkeypatch):
    """Minting: every challenge answer a stranger can obtain, tried as a signature."""
    minted = accepted = 0
    tokens = (
        [uuid.uuid4().hex for _ in range(900)]
        + [str(n) for n in range(50)]
        + ["true", "false", "null", "0", "-1", "1e5", "A" * 256]
        + [base64.b64encode(uuid.uuid4().bytes).decode() for _ in range(43)]
    )
    for token in tokens:  # X: the CRC answer IS the signature of a body equal to the token
        answer = rig.call_handler(monkeypatch, get_event("x", {"crc_token": token}))
        assert answer is not None and answer["statusCode"] == 200
        signature = json.loads(answer["body"])["response_token"]
        minted += 1
        accepted += attempt(rig, monkeypatch, "x", {"x-twitter-webhooks-signature": signature}, token.encode(), True)
    for _ in range(100):  # LinkedIn: HMAC(secret, code) vs HMAC(secret, "hmacsha256=" + body)
        code = str(uuid.uuid4())
        answer = json.loads(rig.call_handler(monkeypatch, get_event("linkedin", {"challengeCode": code}))["body"])
        for body, header in (
            (code.encode(), answer["challengeResponse"]),
            (b"", answer["challengeResponse"]),
            (code.encode(), "hmacsha256=" + answer["challengeResponse"]),
        ):
            minted += 1
            accepted += attempt(rig, monkeypatch, "linkedin", {"x-li-signature": header}, body, True)
    for platform in ("facebook", "instagram"):  # Meta: the challenge is echoed, never signed
        for n in range(50):
            challenge = str(1_000_000 + n)
            echoed = rig.call_handler(monkeypatch, get_event(platform, {**META_OK, "hub.challenge": challenge}))
            minted += 1
            accepted += attempt(
                rig,
                monkeypatch,
                platform,
                {"x-hub-signature-256": "sha256=" + echoed["body"]},
                challenge.encode(),
                True,
            )
    tally.count(SUITE, "minted-signature requests", minted)
    tally.count(SUITE, "forgeries accepted", accepted)
    assert accepted == 0 and rig.sender.bus == [] and rig.unreadable_written() == 0 and rig.new_keys() == set()


# --------------------------------------------------------------------------- replayed
@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_replayed_notification_is_counted_once(rig, platform, monkeypatch):
    request = signed(platform, body_of(platform))
    first, again = rig.call(request), rig.call(request)
    headers = dict(request.headers)
    third = rig.call_handler(monkeypatch, post_event(platform, request.body, headers))
    assert first.status == again.status == third["statusCode"] == 200
    ids = [event.event_id for _, event, _ in rig.sender.bus]
    assert len(ids) == 3 and len(set(ids)) == 1  # the same ids: analytics applies each once
    analytics = FakeStore()
    aggregator = Aggregator(analytics)
    for _, event, _ in rig.sender.bus:
        aggregator.apply(event)
    day = f"{rig.sender.bus[0][1].occurred_at:%Y-%m-%d}"
    [counts] = post_engagement(analytics, [day]).values()  # one post
    assert counts[COUNTER[KIND[platform]]] == 1
    tally.count(SUITE, "replayed deliveries", 2)
    tally.count(SUITE, "replays counted twice", 0)


# --------------------------------------------------------------------------- oversized
@pytest.mark.parametrize("platform", PLATFORMS)
def test_bodies_over_the_limit_are_413_signed_or_not(rig, platform, monkeypatch):
    prefix = b'{"object":"page","entry":[],"pad":"'
    at_limit = prefix + b"a" * (MAX_BODY_BYTES - len(prefix) - 2) + b'"}'
    over = at_limit[:-2] + b'a"}'
    assert len(at_limit) == MAX_BODY_BYTES and len(over) == MAX_BODY_BYTES + 1
    assert rig.call(signed(platform, over)).status == 413
    assert rig.call(WebhookRequest("POST", platform, {}, {}, over)).status == 413
    name, value = platform_side.signature_header(platform, over)
    assert rig.call_handler(monkeypatch, post_event(platform, over, {name: value}))["statusCode"] == 413
    assert rig.call(signed(platform, at_limit)).status == 200  # at the limit: read (and kept within the bound)
    tally.count(SUITE, "oversized requests", 3)
    assert rig.sender.bus == []


# --------------------------------------------------------------------------- hostile but signed
def deep(levels: int, open_: bytes = b"[", close: bytes = b"]") -> bytes:
    return open_ * levels + close * levels


def nested(levels: int) -> Any:
    value: Any = []
    for _ in range(levels):
        value = [value]
    return value


TIME = rb'("(?:created_time|time|timestamp_ms|lastModifiedAt)": )"?\d+"?'  # the first time field


def hostile_bodies(platform: str) -> Iterator[tuple[str, bytes]]:
    """Signed bodies no platform should send, each of which must still end in a 2xx or a deliberate 4xx."""
    ours = OUR_POST[platform]
    valid = body_of(platform)
    yield "nesting 100,000 levels (arrays)", deep(100_000)
    yield "nesting 100,000 levels (objects)", b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    yield "nesting 100,000 levels inside the envelope", valid.replace(ours.encode(), b'"+' + deep(100_000) + b'+"', 1)
    yield "nesting 100,000 levels, unterminated", b"[" * 100_000
    yield "5,000-digit integer", b"9" * 5000
    yield "5,000-digit integer in the envelope", valid.replace(f'"{ours}"'.encode(), b"9" * 5000, 1)
    yield "5,000-digit negative integer as the time", re.sub(TIME, rb"\g<1>-" + b"9" * 5000, valid, count=1)
    yield "4,300-digit integer as the post id (parses)", valid.replace(f'"{ours}"'.encode(), b"9" * 4300, 1)
    yield "1e400 as the time", re.sub(TIME, rb"\g<1>1e400", valid, count=1)
    yield "2 KB post id", valid.replace(ours.encode(), b"1" * 2048, 1)
    yield "1,100-character post id of 2-byte characters", valid.replace(ours.encode(), "é".encode() * 1100, 1)
    yield "post id of 256 'ours' plus one", valid.replace(ours.encode(), (ours + "0" * (257 - len(ours))).encode(), 1)
    yield "post id with a path", valid.replace(ours.encode(), b"../../metadata/assets/a", 1)
    collider = ours.replace("_", "/").replace(":", "/")  # the same post index key once made key-safe
    yield "post id colliding after key-safing", valid.replace(ours.encode(), collider.encode(), 1)
    yield "post id with a newline", valid.replace(ours.encode(), (ours + "\\n").encode(), 1)
    yield "non-UTF-8 bytes", valid.replace(b'"', b'"\xff\xfe', 1)
    yield "non-UTF-8 bytes in the post id", valid.replace(ours.encode(), ours.encode() + b"\xc3\x28", 1)
    yield "UTF-16 encoded", valid.decode().encode("utf-16")
    yield "UTF-8 with a byte-order mark", b"\xef\xbb\xbf" + valid
    yield "NaN", b"NaN"
    yield "NaN in the envelope", valid.replace(f'"{ours}"'.encode(), b"NaN", 1)
    yield "Infinity as the time", re.sub(TIME, rb"\g<1>Infinity", valid, count=1)
    yield "-Infinity", b'{"object": -Infinity, "for_user_id": -Infinity, "notifications": -Infinity}'
    yield "duplicate keys", valid[:-1] + b', "object": "instagram", "object": "page", "entry": [], "notifications": 1}'
    yield (
        "duplicate post ids (a foreign one last)",
        valid.replace(
            f'"{ours}"'.encode(), f'"{ours}", "post_id": "1_1", "id_str": "1", "sourcePost": "1"'.encode(), 1
        ),
    )
    yield "lone surrogate escaped in the post id", valid.replace(ours.encode(), (ours + "\\ud800").encode(), 1)
    yield "lone surrogates escaped everywhere", re.sub(rb'": "([^"]*)"', rb'": "\1\\ud800"', valid)
    yield "lone surrogates as keys", re.sub(rb'"([a-z_]+)":', rb'"\1\\udfff":', valid)
    yield "NUL escaped in every string", re.sub(rb'": "([^"]*)"', rb'": "\1\\u0000"', valid)
    yield "top-level null", b"null"
    yield "top-level string", b'"page"'
    yield "top-level list", b"[" + valid + b"]"
    yield "empty body", b""
    yield "whitespace body", b" \n\t "
    yield "trailing garbage", valid + b"x"
    yield "two documents", valid + valid
    yield "JSON with comments", b"// hi\n" + valid
    yield "10,000 engagement items on our post", many(platform, 10_000, ours)
    yield "10,000 engagement items on 10,000 posts", many(platform, 10_000, None)
    yield f"{MAX_ENGAGEMENTS + 1} engagement items", many(platform, MAX_ENGAGEMENTS + 1, ours)
    yield "1 MB string in an ignored field", valid[:-1] + b', "pad": "' + b"a" * 1_000_000 + b'"}'


def many(platform: str, n: int, post: str | None) -> bytes:
    """A notification reporting `n` engagements (on `post`, or on n different posts)."""
    items = [platform_side.notification(platform, KIND[platform], post or f"9{i:018d}") for i in range(n)]
    doc = items[0]
    if platform in ("facebook", "instagram"):
        doc["entry"] = [entry for item in items for entry in item["entry"]]
        for i, entry in enumerate(doc["entry"]):  # distinct notifications, not one repeated
            value = entry["changes"][0]["value"]
            value["from"]["id"] = str(10_000 + i)
            if "id" in value:
                value["id"] = f"1790{i:012d}"
    elif platform == "x":
        doc["favorite_events"] = [e for item in items for e in item["favorite_events"]]
    else:
        doc["notifications"] = [e for item in items for e in item["notifications"]]
        for i, item in enumerate(doc["notifications"]):
            item["notificationId"] = i
    return json.dumps(doc).encode()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_notification_at_the_engagement_cap_is_recorded(rig, platform):
    answer = rig.call(signed(platform, many(platform, MAX_ENGAGEMENTS, OUR_POST[platform])))
    assert json.loads(answer.body) == {"received": MAX_ENGAGEMENTS, "recorded": MAX_ENGAGEMENTS, "unmatched": 0}
    assert len({event.event_id for _, event, _ in rig.sender.bus}) == MAX_ENGAGEMENTS


def expected_status(platform: str, body: bytes) -> int:
    # The one deliberate 4xx for a signed body: an X body its CRC answer could have signed.
    return 401 if platform == "x" and X_TOKEN_BODY.fullmatch(body) else 200


def check_events_are_ours(rig: Rig) -> None:
    for _, event, _ in rig.sender.bus:
        platform = event.payload["platform"]
        assert event.payload["remote_id"] == OUR_POST[platform], event.payload["remote_id"][:80]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_hostile_signed_bodies_never_fail_the_endpoint(rig, platform, monkeypatch):
    n = wrong = 0
    for name, body in hostile_bodies(platform):
        answer = rig.call(signed(platform, body))
        n += 1
        if answer is not None and answer.status != expected_status(platform, body):
            wrong += 1
            rig.errors.append(f"{name}: {answer.status} {answer.body[:200]}")
    # The same through the Lambda entry, as API Gateway hands it over (base64).
    for name, body in list(hostile_bodies(platform))[:12]:
        header, value = platform_side.signature_header(platform, body)
        result = rig.call_handler(monkeypatch, post_event(platform, body, {header: value}))
        n += 1
        if result is not None and result["statusCode"] != expected_status(platform, body):
            wrong += 1
            rig.errors.append(f"{name} (handler): {result['statusCode']}")
    check_events_are_ours(rig)
    tally.count(SUITE, "hostile signed bodies", n)
    assert wrong == 0
    assert rig.unreadable_written() <= UNREADABLE_SLOTS * 2  # one platform, at most two UTC days


def paths(value: Any, here: tuple = ()) -> Iterator[tuple]:
    yield here
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*here, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from paths(child, (*here, i))


def replaced(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    doc = copy.deepcopy(doc)
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return doc


WRONG_TYPES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    -0.0,
    10**4000,
    "",
    "0",
    "\ud800",
    "\x00",
    "x" * 2048,
    "é" * 600,
    [],
    {},
    [None],
    [[]],
    {"": None},
    {"id": {"id": []}},
    {"id_str": 1, "user": 2},
    nested(3000),
]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_wrong_types_everywhere(rig, platform):
    """Every node of a genuine notification replaced, in turn, by every value of the wrong type."""
    doc = platform_side.notification(platform, KIND[platform], OUR_POST[platform])
    n = wrong = 0
    for path in paths(doc):
        for value in WRONG_TYPES:
            body = json.dumps(replaced(doc, path, value)).encode()
            answer = rig.call(signed(platform, body))
            n += 1
            if answer is not None and answer.status != expected_status(platform, body):
                wrong += 1
                rig.errors.append(f"{path} = {str(value)[:40]}: {answer.status}")
    check_events_are_ours(rig)
    tally.count(SUITE, "hostile signed bodies", n)
    assert wrong == 0


_json_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(exclude_categories=()), max_size=30)
)
_json = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
_FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_FUZZ
@given(platform=st.sampled_from(PLATFORMS), body=st.binary(max_size=512))
def test_random_signed_bytes_never_fail_the_endpoint(rig, platform, body):
    answer = rig.call(signed(platform, body))
    tally.count(SUITE, "hostile signed bodies", 1)
    assert answer is not None and answer.status == expected_status(platform, body), rig.errors[-1:]


@_FUZZ
@given(platform=st.sampled_from(PLATFORMS), where=st.integers(min_value=0), value=_json)
def test_random_json_anywhere_in_a_signed_notification_never_fails_the_endpoint(rig, platform, where, value):
    doc = platform_side.notification(platform, KIND[platform], OUR_POST[platform])
    all_paths = list(paths(doc))
    body = json.dumps(replaced(doc, all_paths[where % len(all_paths)], value)).encode()
    answer = rig.call(signed(platform, body))
    tally.count(SUITE, "hostile signed bodies", 1)
    assert answer is not None and answer.status == expected_status(platform, body), rig.errors[-1:]
    check_events_are_ours(rig)


# --------------------------------------------------------------------------- what unreadable bodies may write
def test_unreadable_bodies_write_within_the_bound(rig):
    """1,000 distinct signed-but-unreadable bodies per platform: at most UNREADABLE_SLOTS objects
    per platform per day, the first body of each slot kept, each at most 64 KiB of body."""
    sent = 0
    first_in_slot: dict[str, str] = {}
    for platform in PLATFORMS:
        for i in range(1000):
            body = json.dumps({"data": {"event_type": "like.create", "n": i, "platform": platform}}).encode()
            before = set(rig.store.docs)
            answer = rig.call(signed(platform, body))
            assert answer.status == 200 and json.loads(answer.body)["unreadable"] is True
            for key in set(rig.store.docs) - before:
                first_in_slot[key] = hashlib.sha256(body).hexdigest()
            sent += 1
    per_day: Counter[tuple[str, str]] = Counter()
    for key in rig.new_keys():
        _, _, platform, day, slot = key.split("/")
        per_day[platform, day] += 1
        doc = rig.store.get(key).data
        assert doc["sha256"] == first_in_slot[key] and doc["platform"] == platform  # the first body won
        assert re.fullmatch(r"\d{2}\.json", slot) and int(slot[:2]) < UNREADABLE_SLOTS
    assert per_day and max(per_day.values()) <= UNREADABLE_SLOTS
    assert rig.unreadable_written() == len(rig.new_keys()) <= UNREADABLE_SLOTS * len(PLATFORMS) * 2
    assert max(rig.store.written.values()) == 1  # never overwritten
    tally.count(SUITE, "distinct unreadable signed bodies", sent)


def test_a_large_unreadable_body_is_kept_truncated_with_its_size_and_digest(rig):
    body = json.dumps({"data": {"event_type": "like.create", "pad": "é" * 600_000}}).encode()
    assert rig.call(signed("x", body)).status == 200
    (key,) = rig.new_keys()
    doc = rig.store.get(key).data
    assert doc["bytes"] == len(body) and doc["sha256"] == hashlib.sha256(body).hexdigest() and doc["truncated"]
    assert len(doc["body"].encode()) <= UNREADABLE_KEPT_BYTES + 3  # a cut character becomes U+FFFD
    assert len(json.dumps(doc)) < 7 * UNREADABLE_KEPT_BYTES


# --------------------------------------------------------------------------- challenges
CODE = "890e4665-4dfe-4ab1-b689-ed553bceeed6"
META_OK = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": platform_side.META_VERIFY_TOKEN}


def challenge_cases(platform: str) -> Iterator[tuple[str, dict[str, str], int]]:
    """(name, query, expected status)."""
    if platform in ("facebook", "instagram"):
        yield "valid", META_OK, 200
        yield "valid token of 256", {**META_OK, "hub.challenge": "9" * 256}, 200
        for name, challenge in [
            ("trailing newline", "1158201444\n"),
            ("trailing crlf", "1158201444\r\n"),
            ("leading newline", "\n1158201444"),
            ("nul", "1158201444\x00"),
            ("overlong", "9" * 257),
            ("very long", "9" * 100_000),
            ("empty", ""),
            ("JSON-looking", '{"object":"page","entry":[]}'),
            ("script", "<script>"),
            ("arabic-indic digits", "\u0661\u0662\u0663"),
            ("space", "11 58"),
            ("lone surrogate", "1\ud800"),
        ]:
            yield f"challenge {name}", {**META_OK, "hub.challenge": challenge}, 400
        yield "no challenge", {k: v for k, v in META_OK.items() if k != "hub.challenge"}, 400
        yield "missing verify token", {k: v for k, v in META_OK.items() if k != "hub.verify_token"}, 403
        for name, token in [
            ("wrong", "guess"),
            ("empty", ""),
            ("with newline", META_OK["hub.verify_token"] + "\n"),
            ("prefix", META_OK["hub.verify_token"][:-1]),
            ("surrogate", "\ud800"),
            ("upper-case", META_OK["hub.verify_token"].upper()),
        ]:
            yield f"verify token {name}", {**META_OK, "hub.verify_token": token}, 403
        yield "not a subscribe", {**META_OK, "hub.mode": "unsubscribe"}, 403
        yield "no mode", {k: v for k, v in META_OK.items() if k != "hub.mode"}, 403
    elif platform == "x":
        yield "valid", {"crc_token": uuid.uuid4().hex}, 200
        yield "valid base64 token", {"crc_token": base64.b64encode(b"0123456789abcdef").decode()}, 200
        yield "valid token of 256", {"crc_token": "A" * 256}, 200
        for name, token in [
            ("trailing newline", "abc\n"),
            ("trailing crlf", "abc\r\n"),
            ("leading newline", "\nabc"),
            ("nul", "abc\x00"),
            ("overlong", "A" * 257),
            ("very long", "A" * 100_000),
            ("empty", ""),
            ("JSON-looking", '{"for_user_id":"1"}'),
            ("JSON string", '"abc"'),
            ("space", "a b"),
            ("lone surrogate", "a\ud800"),
            ("non-ascii letter", "\u00e9"),
        ]:
            yield f"crc_token {name}", {"crc_token": token}, 400
        yield "no crc_token", {}, 400
    else:
        yield "valid", {"challengeCode": CODE, "applicationId": "x"}, 200
        yield "valid upper-case", {"challengeCode": CODE.upper()}, 200
        for name, code in [
            ("trailing newline", CODE + "\n"),
            ("trailing crlf", CODE + "\r\n"),
            ("leading newline", "\n" + CODE),
            ("nul", CODE + "\x00"),
            ("overlong", CODE + "0"),
            ("very long", CODE * 3000),
            ("empty", ""),
            ("JSON-looking", '{"notifications":[]}'),
            ("hmacsha256= prefix", "hmacsha256=" + CODE),
            ("braces", "{" + CODE + "}"),
            ("no dashes", CODE.replace("-", "")),
            ("lone surrogate", CODE[:-1] + "\ud800"),
        ]:
            yield f"challengeCode {name}", {"challengeCode": code}, 400
        yield "no challengeCode", {}, 400


def answered_correctly(platform: str, query: dict[str, str], result: dict[str, Any]) -> bool:
    """The answer as the platform judges it."""
    if platform in ("facebook", "instagram"):
        return result["body"] == query["hub.challenge"] and result["headers"]["Content-Type"] == "text/plain"
    if platform == "x":
        expected = base64.b64encode(_mac(platform_side.X_CONSUMER_SECRET, query["crc_token"].encode())).decode()
        return json.loads(result["body"]) == {"response_token": f"sha256={expected}"}
    return json.loads(result["body"]) == {
        "challengeCode": query["challengeCode"],
        "challengeResponse": _mac(platform_side.LINKEDIN_CLIENT_SECRET, query["challengeCode"].encode()).hex(),
    }


@pytest.mark.parametrize("platform", PLATFORMS)
def test_challenges_are_answered_only_in_the_platforms_formats(rig, platform, monkeypatch):
    n = wrongly_answered = 0
    for name, query, status in challenge_cases(platform):
        result = rig.call_handler(monkeypatch, get_event(platform, query))
        n += 1
        if result is None:
            continue
        if result["statusCode"] != status or (status == 200 and not answered_correctly(platform, query, result)):
            wrongly_answered += 1
            rig.errors.append(f"{name}: {result['statusCode']} {result['body'][:100]}")
    tally.count(SUITE, "challenge requests", n)
    tally.count(SUITE, "malformed challenges answered", wrongly_answered)
    assert wrongly_answered == 0 and rig.new_keys() == set()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_an_unconfigured_platform_is_404_and_does_not_say_why(platform, monkeypatch):
    others = {
        "facebook": "meta_app_secret",
        "instagram": "meta_app_secret",
        "x": "x_consumer_secret",
        "linkedin": "linkedin_client_secret",
    }
    secret = {k: v for k, v in platform_side.sandbox_secret().items() if k != others[platform]}
    unconfigured = Rig(WebhookKeys.from_secret(secret))
    query = next(q for _, q, status in challenge_cases(platform) if status == 200)
    body = body_of(platform)
    headers = dict([platform_side.signature_header(platform, body)])
    got = [
        unconfigured.call_handler(monkeypatch, get_event(platform, query)),
        unconfigured.call_handler(monkeypatch, post_event(platform, body, headers)),
    ]
    for result in got:
        assert result["statusCode"] == 404 and others[platform] not in result["body"]
    assert unconfigured.sender.bus == []
    tally.count(SUITE, "challenge requests", 1)
    tally.count(SUITE, "forged requests", 1)
    unconfigured.settle()


# --------------------------------------------------------------------------- malformed API Gateway events
def test_malformed_gateway_events_are_refused_not_crashed(rig, monkeypatch):
    body = body_of("facebook")
    name, value = platform_side.signature_header("facebook", body)
    cases: list[tuple[dict[str, Any], int]] = [
        ({**post_event("facebook", body, {name: value}), "body": "not base64!"}, 400),
        ({**post_event("facebook", body, {name: value}), "body": "abc"}, 400),  # bad padding
        ({**post_event("facebook", body, {name: value}), "body": "\ud800", "isBase64Encoded": False}, 401),
        (
            {**post_event("facebook", body, {name: value}), "isBase64Encoded": False, "body": body.decode() + "\ud800"},
            401,
        ),
        ({**post_event("facebook", body, {name: value}), "headers": None}, 401),
        ({**post_event("facebook", body, {name: value}), "pathParameters": None}, 404),
        ({**post_event("facebook", body, {name: value}), "pathParameters": {"platform": "x" * 5000}}, 404),
        ({**post_event("facebook", body, {name: value}), "pathParameters": {"platform": "facebook\n"}}, 404),
        ({**post_event("facebook", body, {name: value}), "httpMethod": None}, 405),
        ({**post_event("facebook", body, {name: value}), "httpMethod": "DELETE"}, 405),
        ({**get_event("x", {}), "queryStringParameters": None}, 400),
        ({}, 404),
    ]
    for event, status in cases:
        result = rig.call_handler(monkeypatch, event)
        assert result is not None and result["statusCode"] == status, (event.get("body"), result)
    accepted = rig.call_handler(monkeypatch, {**post_event("facebook", body, {name.upper(): value})})
    assert accepted["statusCode"] == 200  # header names are case-insensitive: the control
    tally.count(SUITE, "malformed gateway events", len(cases))
    assert len(rig.sender.bus) == 1 and rig.new_keys() == set()
