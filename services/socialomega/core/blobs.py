"""`ports.Blobs` on S3: the objects of one bucket."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class S3Blobs:
    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def put(self, key: str, data: bytes, *, content_type: str, metadata: dict[str, str]) -> str | None:
        answer = self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, Metadata=metadata)
        version_id: str | None = answer.get("VersionId")
        return version_id

    def get(self, key: str, version_id: str | None = None) -> bytes:
        params = {"Bucket": self.bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
        data: bytes = self.s3.get_object(**params)["Body"].read()
        return data

    def presigned_url(self, key: str, version_id: str | None, expires_seconds: int) -> str:
        """A time-limited GET URL of one object (signed locally: no call to S3)."""
        params = {"Bucket": self.bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
        url: str = self.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_seconds)
        return url

    def listing(self, prefix: str) -> Iterator[tuple[str, str]]:
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"], item["ETag"].strip('"')
