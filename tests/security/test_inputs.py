"""Property tests of what reads outside input: the URL guard, the envelope and payload parsing,
and the REST body template renderer. (Captions: test_caption_inputs.py.)"""

from __future__ import annotations

import ipaddress
import json
import string

import pytest
import urllib3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialomega.contracts.payloads import MODELS, clean_metadata
from socialomega.core.consumer import InvalidPayload, checked_payload
from socialomega.core.egress import EgressPolicy, UnsafeDestination, check_url, is_public
from socialomega.core.envelope import Envelope, InvalidMessage, new_event, parse
from socialomega.platforms.rest.publisher import InvalidTargetConfig, render_body
from socialomega.platforms.rest.settings import DEFAULT_BODY_TEMPLATE
from tests.security import tally

PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
POLICY = EgressPolicy(frozenset({"api.example.com", "93.184.215.14"}), frozenset({443, 8443}))

# --- the URL guard ----------------------------------------------------------------------------------

hosts = st.one_of(
    st.sampled_from(
        [
            "api.example.com",
            "API.EXAMPLE.COM",
            "api.example.com.",
            "evil.example",
            "localhost",
            "127.0.0.1",
            "93.184.215.14",
            "[::1]",
            "[::ffff:127.0.0.1]",
            "[64:ff9b::7f00:1]",
            "0x7f.1",
            "2130706433",
            "[fe80::1%25eth0]",
            "api.example.com\\@127.0.0.1",
            "127.0.0.1#api.example.com",
        ]
    ),
    st.ip_addresses().map(lambda ip: f"[{ip}]" if ip.version == 6 else str(ip)),
    st.text(alphabet=string.ascii_letters + string.digits + ".-_@:%[]\\#?/ \t", min_size=1, max_size=30),
)
ports = st.one_of(
    st.just(""),
    st.integers(-5, 70000).map(lambda n: f":{n}"),
    st.sampled_from([":443", ":8443", ":", ":+443", ": 443", ":0x1bb", ":٤٤٣"]),
)
userinfo = st.sampled_from(["", "user@", "user:pw@", "api.example.com@", "@", "a\\@"])
schemes = st.sampled_from(["https", "http", "HTTPS", "ftp", "file", "gopher", "", "ht tp", "javascript"])
tails = st.text(alphabet=string.printable + "\u2028\u3002\uff0e", max_size=20)
urls = st.one_of(
    st.builds(lambda s, u, h, p, t: f"{s}://{u}{h}{p}/{t}", schemes, userinfo, hosts, ports, tails),
    st.text(max_size=60),
)


@PROPERTY
@given(urls)
def test_the_url_guard_passes_only_urls_every_parser_reads_as_an_allowed_destination(url):
    tally.count("inputs", "URL guard cases")
    try:
        scheme, host, port = check_url(url, POLICY)
    except UnsafeDestination:
        return
    # Whatever passed is plain, on the policy, and read the same way by urllib3 (what requests uses).
    assert scheme == "https" and host in POLICY.hosts and port in POLICY.ports
    assert not any(ch in url for ch in "@\\ \t\r\n") and url.isascii()
    parsed = urllib3.util.parse_url(url)
    assert (parsed.host or "").lower().rstrip(".") == host and (parsed.port or 443) == port and not parsed.auth
    tally.count("inputs", "URL guard cases passed as allowed")


@PROPERTY
@given(
    st.sampled_from(["api.example.com", "API.example.com", "93.184.215.14"]),
    st.sampled_from(["", ":443", ":8443"]),
    st.text(alphabet=string.ascii_letters + string.digits + "-._~/%?=&", max_size=40),
)
def test_a_plain_url_to_an_allowed_destination_is_never_refused(host, port, tail):
    tally.count("inputs", "URL guard cases")
    assert check_url(f"https://{host}{port}/{tail}", POLICY)[1] == host.lower()


embeddings = [
    lambda v4: ipaddress.IPv6Address(f"::ffff:{v4}"),  # IPv4-mapped
    lambda v4: ipaddress.IPv6Address(f"::{v4}"),  # IPv4-compatible (deprecated)
    lambda v4: ipaddress.IPv6Address(f"64:ff9b::{v4}"),  # NAT64
    lambda v4: ipaddress.IPv6Address((0x2002 << 112) | (int(v4) << 80)),  # 6to4
]


@PROPERTY
@given(st.ip_addresses(v=4))
def test_an_ipv4_address_that_is_not_public_is_not_public_inside_ipv6_either(v4):
    tally.count("inputs", "address classes")
    if not is_public(v4):
        assert not any(is_public(embed(v4)) for embed in embeddings)
    assert not is_public(v4) or (v4.is_global and not v4.is_multicast)


@PROPERTY
@given(st.ip_addresses())
def test_public_means_global_unicast(ip):
    tally.count("inputs", "address classes")
    if is_public(ip):
        ip = getattr(ip, "ipv4_mapped", None) or ip  # a mapped address is its IPv4 address
        assert ip.is_global and not ip.is_multicast and not ip.is_private and not ip.is_loopback
        assert not ip.is_link_local and not ip.is_reserved


@pytest.mark.parametrize(
    "address",
    [
        "::127.0.0.1",
        "64:ff9b::7f00:1",
        "fec0::1",
        "ff02::1",
        "224.0.0.1",
        "::ffff:169.254.169.254",
        "2002:a9fe:a9fe::1",
        "2001::1",
        "100.64.0.1",
    ],
)
def test_address_classes_the_standard_library_calls_global_are_refused(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url, problem",
    [
        ("https://api.example.com:99999/", "port"),
        ("https://api.example.com:0/", "port"),
        ("https://api.example.com:22/", "port 22"),
        ("https://127.1/", "canonical"),
        ("https://user@api.example.com/", "user name"),
        ("http://api.example.com/", "plain http"),
    ],
)
def test_the_url_guard_names_what_is_wrong(url, problem):
    with pytest.raises(UnsafeDestination, match=problem):
        check_url(url, EgressPolicy(frozenset({"api.example.com", "127.1"}), frozenset({443})))


# --- envelopes and payloads -------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


def _valid_envelope() -> dict:
    return new_event("AssetDetected", "a1", {}).model_dump(mode="json")


@PROPERTY
@given(
    st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200),
        json_values.map(json.dumps),
        st.dictionaries(st.sampled_from(list(_valid_envelope())), json_values, max_size=8).map(
            lambda d: json.dumps({**_valid_envelope(), **d})
        ),
    )
)
def test_a_message_body_is_an_envelope_or_an_invalid_message_never_a_crash(body):
    tally.count("inputs", "message bodies")
    try:
        envelope = parse(body)
    except InvalidMessage as exc:
        assert str(exc)
        return
    assert isinstance(envelope, Envelope)


@PROPERTY
@given(
    st.sampled_from(sorted(MODELS)),
    st.dictionaries(st.text(max_size=12), json_values, max_size=6),
    st.dictionaries(
        st.sampled_from(
            [
                "target",
                "platform",
                "version",
                "variant",
                "raw",
                "metadata",
                "kind",
                "delta",
                "remote_id",
                "source",
                "status",
                "error",
                "attempts",
            ]
        ),
        json_values,
        max_size=8,
    ),
)
def test_a_payload_fits_its_model_or_is_refused_at_once_with_a_reason(event_type, noise, fields):
    tally.count("inputs", "payloads")
    event = new_event(event_type, "a1", {**noise, **fields})
    try:
        checked_payload(event)
    except InvalidPayload as exc:
        assert exc.code == "invalid_payload" and event_type in exc.reason


@pytest.mark.parametrize("delta", [2, -2, 10**30, "1", 1.0, True])
def test_an_engagement_counts_one_action_or_is_refused(delta):
    event = new_event(
        "EngagementReceived", "a1", {"platform": "x", "target": "x", "remote_id": "1", "kind": "like", "delta": delta}
    )
    with pytest.raises(InvalidPayload):
        checked_payload(event)


@PROPERTY
@given(
    st.dictionaries(
        st.sampled_from(["title", "description", "keywords", "camera"]),
        st.one_of(
            st.text(alphabet=st.characters(codec=None), max_size=50),
            st.lists(st.text(alphabet=st.characters(codec=None), max_size=20), max_size=600),
        ),
        max_size=4,
    )
)
def test_metadata_from_outside_always_travels(metadata):
    """Lone surrogates and over-long fields are made to fit; the event then serialises."""
    tally.count("inputs", "metadata documents")
    cleaned = clean_metadata(metadata)
    event = new_event(
        "AssetDetected",
        "a1",
        {"source": "lightroom", "version": "v1", "metadata": cleaned, "raw": {"bucket": "raw", "key": "raw/a1/v1.jpg"}},
    )
    checked_payload(parse(event.to_json()))


# --- the REST body template -------------------------------------------------------------------------

hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ['", "admin": true, "x": "', '"}', "{{ 7*7 }}", "\\", '\\"', "\u2028", "</script>", '{"a": 1}', "null", "1, 2"]
    ),
)
TEMPLATE_WITHOUT_TOJSON = (
    '{"title": {{ title }}, "caption": {{ caption }}, "keywords": {{ keywords }}, "n": {{ width }}}'
)


@PROPERTY
@given(hostile_text, hostile_text, st.lists(hostile_text, max_size=4))
def test_a_template_value_can_never_add_keys_or_break_out_of_its_place(title, description, keywords):
    tally.count("inputs", "template renders")
    context = {
        "title": title,
        "description": description,
        "caption": description,
        "keywords": keywords,
        "image_url": "https://s3.example/k",
        "width": 1080,
        "height": 1080,
        "asset_id": "a",
        "version": "v",
        "camera": "",
        "lens": "",
        "date": "",
        "target": "t",
    }
    for template in (DEFAULT_BODY_TEMPLATE, TEMPLATE_WITHOUT_TOJSON):
        body = render_body(template, context)
        neutral = render_body(
            template, {**context, "title": "t", "caption": "c", "description": "d", "keywords": ["k"]}
        )
        assert set(body) == set(neutral)  # the operator's keys, no more, no fewer
        assert body["title"] == title and body["keywords"] == keywords  # each value stays in its place


def test_a_quoted_placeholder_is_a_clear_config_error():
    with pytest.raises(InvalidTargetConfig, match="do not put quotes around it"):
        render_body('{"title": "{{ title }}"}', {"title": "Dune"})
