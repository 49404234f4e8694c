"""Errors the platform raises on purpose, each with a stable code and an HTTP status.

Pure Python (no Django) so that the engines under `products/contracts/` can raise them too.
The API renders them as `{"error": {"code", "message", "fields"?}}`; the portal shows the
message on the form, and `fields` next to the fields they concern.
"""

from __future__ import annotations

from typing import Any


class PlatformError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, **detail: Any):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.detail = detail

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        body.update(self.detail)
        return body


class Invalid(PlatformError):
    code = "invalid"
    http_status = 400


class Forbidden(PlatformError):
    code = "forbidden"
    http_status = 403


class NotFound(PlatformError):
    code = "not_found"
    http_status = 404


class Conflict(PlatformError):
    code = "conflict"
    http_status = 409
