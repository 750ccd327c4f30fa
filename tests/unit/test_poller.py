"""The poll loop: idempotent on (asset, version), one bad photo does not stop the others."""

import pytest

from socialomega.core import store as keys
from socialomega.poller.poll import Poller
from socialomega.poller.sources import SourcePhoto
from tests.unit.fakes import FakeStore, MemoryBlobs, RecordingSender


class ListSource:
    name = "fake"

    def __init__(self, photos, broken=()):
        self.photos, self.broken = photos, set(broken)

    def candidates(self, cursor):
        for asset_id, version in self.photos:

            def fetch(asset_id=asset_id):
                if asset_id in self.broken:
                    raise OSError("rendition 503")
                return b"jpeg:" + asset_id.encode()

            yield SourcePhoto("fake", asset_id, version, {"title": asset_id}, fetch)

    def next_cursor(self):
        return {"updated_since": max(v for _, v in self.photos)}


class FailingSource:
    name = "down"

    def candidates(self, cursor):
        raise PermissionError("token expired")

    def next_cursor(self):
        return {}


def make():
    store, raw, sender = FakeStore(), MemoryBlobs("raw"), RecordingSender()
    return Poller(store, raw, sender, "images-url"), store, raw, sender


def test_new_photos_are_stored_and_announced_once():
    poller, store, s3, sender = make()
    source = ListSource([("a", "2026-01-01"), ("b", "2026-01-02")])
    first = poller.poll([source])
    assert first.detected == ["a", "b"]
    assert s3.objects[keys.raw_key("a", "2026-01-01")] == b"jpeg:a"
    assert [e.type for _, e in sender.queue] == ["AssetDetected", "AssetDetected"]
    event = sender.queue[0][1]
    assert event.payload["raw"]["key"] == keys.raw_key("a", "2026-01-01") and event.payload["version"] == "2026-01-01"
    assert store.get(keys.asset_key("a")).data["latest_version"] == "2026-01-01"
    assert store.get(keys.cursor_key("fake")).data["updated_since"] == "2026-01-02"

    second = poller.poll([source])
    assert second.detected == [] and second.already_seen == 2 and len(sender.queue) == 2


def test_an_edited_photo_is_a_new_version():
    poller, store, _, sender = make()
    poller.poll([ListSource([("a", "2026-01-01")])])
    result = poller.poll([ListSource([("a", "2026-02-01")])])
    assert result.detected == ["a"]
    doc = store.get(keys.asset_key("a")).data
    assert set(doc["versions"]) == {"2026-01-01", "2026-02-01"} and doc["latest_version"] == "2026-02-01"


def test_a_failing_photo_is_retried_next_poll_and_keeps_the_cursor():
    poller, store, _, sender = make()
    result = poller.poll([ListSource([("a", "1"), ("b", "2")], broken={"a"})])
    assert result.detected == ["b"] and "rendition 503" in result.failed["a"]
    # a photo of the pass failed: the pass is over but the watermark stays put
    assert "updated_since" not in store.get(keys.cursor_key("fake")).data
    result = poller.poll([ListSource([("a", "1"), ("b", "2")])])
    assert result.detected == ["a"] and result.already_seen == 1


def test_a_failing_source_does_not_stop_the_others():
    poller, _, _, sender = make()
    result = poller.poll([FailingSource(), ListSource([("a", "1")])])
    assert result.detected == ["a"]
    assert "token expired" in result.failed["source:down"]
    # The whole intake failing makes the invocation fail (retried, then the schedule DLQ);
    # a single photo's failure does not.
    assert list(result.source_failures()) == ["source:down"]
    photo_failure = poller.poll([ListSource([("b", "1")], broken={"b"})])
    assert photo_failure.failed and photo_failure.source_failures() == {}


@pytest.mark.parametrize(
    "url, ok",
    [
        (None, True),  # Adobe's own endpoint
        ("https://ims-na1.adobelogin.com/ims/token/v3", True),
        ("http://127.0.0.1:8701/ims/token/v3", True),  # the local sandbox
        ("http://localhost:8701/ims/token/v3", True),
        ("http://ims.example.com/ims/token/v3", False),  # the client secret in clear text
        ("ftp://127.0.0.1/x", False),
    ],
)
def test_the_ims_url_is_https_or_a_loopback_sandbox(url, ok):
    from socialomega.core.config import ConfigError
    from socialomega.poller.bootstrap import ims_url

    selection = {"ims_url": url} if url else {}
    if ok:
        assert ims_url(selection) == (url or "https://ims-na1.adobelogin.com/ims/token/v3")
    else:
        with pytest.raises(ConfigError, match="must be https"):
            ims_url(selection)


class AlbumSource(ListSource):
    """An album: every pass lists every photo in it."""

    lists_everything = True


def test_a_photo_missing_from_the_next_album_pass_has_left_and_one_back_has_not():
    poller, store, _, _ = make()
    album = AlbumSource([("a1", "v1"), ("a2", "v1"), ("a3", "v1")])
    poller.poll([album])
    assert not store.get(keys.selection_key("fake")).data["left"]  # the first pass: nothing to compare with
    album.photos = [("a1", "v1"), ("a3", "v1")]  # a2 taken out of the album
    poller.poll([album])
    selection = store.get(keys.selection_key("fake")).data
    assert set(selection["left"]) == {"a2"} and selection["asset_ids"] == ["a1", "a3"]
    album.photos = [("a1", "v1"), ("a2", "v1"), ("a3", "v1")]  # and put back
    poller.poll([album])
    assert store.get(keys.selection_key("fake")).data["left"] == {}


def test_a_keyword_pass_notes_the_photos_that_lost_the_keyword():
    class KeywordSource(ListSource):
        lists_everything = False
        deselected = ["a9"]

    poller, store, _, _ = make()
    poller.poll([KeywordSource([("a1", "v1")])])
    assert set(store.get(keys.selection_key("fake")).data["left"]) == {"a9"}
