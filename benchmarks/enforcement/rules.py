"""The row rules of `orders-contract.yaml`, spelled out once for the peer implementations.

The contract is the source of truth; `run.py` checks that these constants still match it.
"""

from __future__ import annotations

COLUMNS = (
    "order_id",
    "customer_id",
    "customer_email",
    "ordered_at",
    "ship_date",
    "amount",
    "quantity",
    "currency",
    "status",
    "country",
    "coupon",
)
REQUIRED = tuple(c for c in COLUMNS if c not in ("ship_date", "coupon"))

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
INTEGER_PATTERN = r"^[+-]?[0-9]+$"
NUMBER_PATTERN = r"^[+-]?[0-9]+(\.[0-9]+)?$"

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"

INTEGERS = ("customer_id", "quantity")
NUMBERS = ("amount",)
# column -> (minimum, maximum), inclusive; None where the contract sets no bound
BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "customer_id": (1, None),
    "amount": (0, 100_000),
    "quantity": (1, 1_000),
}
MAX_LENGTH = {"customer_email": 254, "country": 2, "coupon": 12}
ENUMS = {
    "currency": ("EUR", "USD", "GBP", "CHF", "JPY", "SEK"),
    "status": ("placed", "paid", "shipped", "delivered", "cancelled", "returned"),
}
PATTERNS = {"order_id": UUID_PATTERN, "customer_email": EMAIL_PATTERN, "country": COUNTRY_PATTERN}
PII = ("customer_email",)

# Dataset rules (decided for the whole run, not per row).
MIN_ROWS_EXCLUSIVE = 0
COUPON_MAX_NULL_PERCENT = 90

PASSED_FILE = "passed.parquet"
QUARANTINE_FILE = "quarantine.parquet"
REASON_COLUMN = "reason"
