"""The configuration that points a local stack at the sandbox: SSM values and secrets.

Used by the demo and by the integration tests, and handed to `terraform/envs/local` as
variables, so the same Terraform that writes real settings in AWS writes these locally.
The sandbox credentials are fixed, public test values, not secrets.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from socialomega.sandbox import webhooks as sandbox_webhooks
from socialomega.sandbox.server import SOCIAL_FAKES


def lightroom_settings(lightroom_url: str) -> dict[str, Any]:
    # The sandbox serves Adobe IMS's token endpoint on the Lightroom fake's own port.
    return {
        "base_url": lightroom_url,
        "album": "Publish",
        "keyword": "",
        "rendition": "2048",
        "ims_url": f"{lightroom_url}/ims/token/v3",
        "allow_private_network": True,
    }


def targets(
    urls: dict[str, str],
    *,
    gallery: bool = True,
    misconfigured: bool = False,
    x_daily_cap: int | None = None,
    on_edit: str | None = None,
) -> list[dict[str, Any]]:
    """The sandbox's targets: the generic REST target (JSON, API key), optionally a second
    REST target (`gallery`: multipart upload, OAuth2 client credentials), one target per
    social platform fake, and optionally `instagram-tall`, whose variant spec violates
    Instagram's aspect-ratio range so that Instagram rejects every photo (for tests).
    `on_edit` (ignore, repost, update) is set on every target when given (default: ignore)."""
    rest_url = urls["rest"]
    host = urlsplit(rest_url).hostname
    result: list[dict[str, Any]] = [
        {  # JSON body from the default template; the image travels as a presigned S3 URL.
            "name": "rest",
            "platform": "rest",
            "spec": {},
            "endpoint": {
                "url": f"{rest_url}/v1/posts",
                "mode": "json",
                "auth": {"type": "api_key", "header": "X-Api-Key"},
                "allowed_hosts": [host],
                "allow_private_network": True,
                "timeout_seconds": 5,
            },
        },
    ]
    if gallery:
        result.append(
            {  # Multipart upload of the image itself, OAuth2 client-credentials auth.
                "name": "gallery",
                "platform": "rest",
                "spec": {"max_width": 1600, "max_height": 1600},
                "endpoint": {
                    "url": f"{rest_url}/v1/media",
                    "mode": "multipart",
                    "auth": {"type": "oauth2_client_credentials", "token_url": f"{rest_url}/oauth/token"},
                    "body_template": '{"title": {{ title | tojson }}, "caption": {{ caption | tojson }}, '
                    '"keywords": {{ keywords | tojson }}}',
                    "allowed_hosts": [host],
                    "allow_private_network": True,
                    "timeout_seconds": 5,
                },
            }
        )
    for platform, (module, _) in SOCIAL_FAKES.items():
        result.append(module.sandbox_target(urls[platform], platform))
        if platform == "x" and x_daily_cap:
            result[-1]["daily_cap"] = x_daily_cap  # X's free tier: 17 posts a day
    if misconfigured and "instagram" in SOCIAL_FAKES:
        tall = SOCIAL_FAKES["instagram"][0].sandbox_target(urls["instagram"], "instagram-tall")
        tall["spec"] = {"min_aspect": 0.5, "max_aspect": 0.6}  # about 1:2, outside Instagram's 4:5..1.91:1
        result.append(tall)
    if on_edit is not None:
        for target in result:
            target["on_edit"] = on_edit
    return result


def secrets(credentials: dict[str, str], target_names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Secrets for the sandbox targets (fixed test values); a platform target's secret is
    its fake's `sandbox_secret()`."""
    values: dict[str, dict[str, Any]] = {
        "lightroom": {
            "client_id": credentials["lightroom_api_key"],
            "access_token": credentials["lightroom_token"],
            "client_secret": credentials["lightroom_client_secret"],
            "refresh_token": credentials["lightroom_refresh_token"],
        },
        "rest": {"api_key": credentials["rest_api_key"]},
        "gallery": {"client_id": credentials["oauth_client_id"], "client_secret": credentials["oauth_client_secret"]},
    }
    for platform, (module, _) in SOCIAL_FAKES.items():
        values[platform] = module.sandbox_secret()
    values["webhooks"] = sandbox_webhooks.sandbox_secret()  # verification keys of every platform
    if "instagram" in SOCIAL_FAKES:
        values["instagram-tall"] = SOCIAL_FAKES["instagram"][0].sandbox_secret()
    if target_names is not None:
        values = {k: v for k, v in values.items() if k in ("lightroom", "webhooks") or k in target_names}
    return values
