"""Keys derived from SECRET_KEY for one purpose each, so none of them is the secret itself."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def derived_key(purpose: str) -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), purpose.encode(), hashlib.sha256).digest()


def quarantine_hash_key() -> bytes:
    """Keys the hash that replaces restricted and PII values in quarantined rows."""
    return derived_key("mesh.quarantine.hash")
