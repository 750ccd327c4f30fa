"""Instagram (professional accounts, Graph API content publishing): the platform's facts.

Sources: ../shared/reference/platform-apis.md.
* Captions: 2,200 characters and, since December 2025, at most 5 hashtags.
* Images: JPEG only, <= 8 MB, aspect 4:5 .. 1.91:1, width 320..1440 (Instagram scales outside
  that range). We target the feed's native 1080 px width (1080x1350 at 4:5).
"""

from socialomega.platforms.base import MB, CaptionRules, Platform

PLATFORM = Platform(
    name="instagram",
    package=__name__,
    webhooks=True,
    # Meta sends comment notifications for Instagram media, no likes (platform-apis.md).
    notified=("comments",),
    caption=CaptionRules(2200, max_hashtags=5),
    spec={
        "min_aspect": 4 / 5,
        "max_aspect": 1.91,
        "max_width": 1080,
        "max_height": 1350,
        "max_bytes": 8 * MB,
        "quality": 85,
        "min_width": 320,
    },
)
