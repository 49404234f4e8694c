"""One rule for the names in addresses (`domain/product`, tags), whatever the interface."""

from __future__ import annotations

import re

from meshplatform.errors import Invalid

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
SLUG_HELP = "Lower-case letters, digits and inner hyphens, at most 63 characters."


def check_slug(value: str, field: str = "slug") -> str:
    if not isinstance(value, str) or not SLUG.match(value):
        raise Invalid(f"'{value}' is not a valid {field}.", fields={field: SLUG_HELP})
    return value
