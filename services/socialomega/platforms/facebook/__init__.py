"""Facebook Pages (Graph API photo posts): the platform's facts.

Sources: ../shared/reference/platform-apis.md.
* Captions: 63,206 characters (the post limit; captions are rarely near it).
* Images: "a photo must be less than 10MB". No pixel limit in the reference; Facebook serves at
  most 2048 px on the long edge, so we send that. The aspect range is our choice.
"""

from socialomega.platforms.base import MB, CaptionRules, Platform

PLATFORM = Platform(
    name="facebook",
    package=__name__,
    webhooks=True,
    # Page feed reaction and comment items (facebook/webhook.py). It reads "share" items too, but
    # no captured payload has one (UNCONFIRMED): counting shares from webhooks alone could show a
    # 0 that is only silence, so analytics takes shares from the pull only.
    notified=("likes", "comments"),
    caption=CaptionRules(63206),
    spec={
        "min_aspect": 1 / 4,
        "max_aspect": 4.0,
        "max_width": 2048,
        "max_height": 2048,
        "max_bytes": 10 * MB - 1,
        "quality": 85,
    },  # "less than 10MB"
)
