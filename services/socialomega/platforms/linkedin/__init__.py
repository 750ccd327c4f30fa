"""LinkedIn (versioned REST API: Images and Posts): the platform's facts.

Sources: ../shared/reference/platform-apis.md.
* Captions: commentary of 3,000 characters.
* Images: "fewer than 36,152,320 pixels" (UNCONFIRMED in the reference), enforced through
  `max_pixels`, plus a 2048 px long edge, which is what the feed can use.
"""

from socialomega.platforms.base import MB, CaptionRules, Platform

PLATFORM = Platform(
    name="linkedin",
    package=__name__,
    webhooks=True,
    # Organization social action notifications: LIKE, COMMENT, SHARE (linkedin/webhook.py).
    notified=("likes", "comments", "shares"),
    caption=CaptionRules(3000),
    spec={
        "min_aspect": 1 / 4,
        "max_aspect": 4.0,
        "max_width": 2048,
        "max_height": 2048,
        "max_pixels": 36_152_320 - 1,  # "fewer than 36,152,320 pixels"
        "max_bytes": 10 * MB,
        "quality": 85,
    },
)
