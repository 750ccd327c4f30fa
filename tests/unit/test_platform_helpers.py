from datetime import UTC, datetime

from socialomega.core.egress import EgressPolicy
from socialomega.publishers.platform import parse_time, unsafe_destination


def test_parse_time_reads_graph_iso_and_naive_values_as_aware_utc():
    moment = datetime(2026, 11, 26, 8, 59, tzinfo=UTC)
    for text in (
        "2026-11-26T08:59:00+0000",
        "2026-11-26T08:59:00Z",
        "2026-11-26T08:59:00+00:00",
        "2026-11-26T08:59:00",
    ):
        assert parse_time(text) == moment
    assert parse_time("yesterday") is None and parse_time(None) is None


def test_unsafe_destination_is_a_permanent_outcome():
    graph = EgressPolicy.of("https://graph.facebook.com")
    unsafe = unsafe_destination("ftp://graph.facebook.com/x", lambda: graph)
    assert unsafe is not None and (unsafe.kind, unsafe.code) == ("permanent", "unsafe_destination")
    sandbox = EgressPolicy.of("http://127.0.0.1:9", allow_private=True)
    assert unsafe_destination("http://127.0.0.1:9/x", lambda: sandbox) is None
