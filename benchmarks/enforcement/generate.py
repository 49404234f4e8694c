"""Seeded, vectorised generator of the orders CSV, with a known list of bad rows.

    python -m benchmarks.enforcement.generate --rows 2000000 --seed 7 --out DIR

writes `DIR/orders-s7-n2000000.csv` and, beside it, `.truth.parquet`: per row its number,
order_id and the defect it was given (null for a clean row). Each bad row has exactly one
defect, so that every engine's verdict can be checked row by row. A duplicated order_id is
copied from an earlier clean row (marked `duplicate_first`): whether that first occurrence
passes depends on the duplicate semantics, which `compare.py` takes as a parameter.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

# defect -> share of all rows (about 1.6 % in total, plus the first occurrences of duplicates)
DEFECTS: dict[str, float] = {
    "bad_uuid": 0.0015,
    "customer_id_abc": 0.0010,
    "quantity_abc": 0.0010,
    "impossible_ship_date": 0.0010,
    "impossible_ordered_at": 0.0010,
    "negative_amount": 0.0015,
    "amount_above_max": 0.0010,
    "bad_email": 0.0015,
    "currency_not_in_enum": 0.0010,
    "status_not_in_enum": 0.0010,
    "missing_customer_id": 0.0008,
    "missing_email": 0.0007,
    "duplicate_order_id": 0.0010,
    "coupon_too_long": 0.0010,
    "country_too_long": 0.0005,
}
DUPLICATE_FIRST = "duplicate_first"

STATUSES = ["placed", "paid", "shipped", "delivered", "cancelled", "returned"]
STATUS_WEIGHTS = [0.05, 0.10, 0.25, 0.50, 0.06, 0.04]
UNSHIPPED = ["placed", "paid", "cancelled"]
CURRENCIES = ["EUR", "USD", "GBP", "CHF", "JPY", "SEK"]
CURRENCY_WEIGHTS = [0.45, 0.30, 0.12, 0.05, 0.04, 0.04]
# "NA" (Namibia) is a valid code that naive CSV readers turn into a null.
COUNTRIES = ["DE", "FR", "NL", "BE", "IT", "ES", "GB", "US", "CH", "SE", "PL", "AT", "NA"]
COUPONS = ["WELCOME5", "SPRING10", "VIP-2024", "FREESHIP", "BLACKFRI", "LOYAL-15"]
DOMAINS = ["example.com", "example.org", "mail.example.net", "shop.test"]
IMPOSSIBLE_DATES = ["2024-02-30", "2023-02-29", "2024-04-31", "2025-06-31"]
EPOCH_2024 = 1_704_067_200
TWO_YEARS = 2 * 365 * 86_400


def data_path(out_dir: Path, rows: int, seed: int) -> Path:
    return out_dir / f"orders-s{seed}-n{rows}.csv"


def truth_path(csv_path: Path) -> Path:
    return csv_path.with_suffix(".truth.parquet")


def _uuids(rng: np.random.Generator, n: int) -> pa.Array:
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hexdigits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = hexdigits[raw >> 4]
    nibbles[:, 1::2] = hexdigits[raw & 0x0F]
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    groups = ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))
    for start, (lo, hi) in zip((0, 9, 14, 19, 24), groups, strict=True):
        text[:, start : start + hi - lo] = nibbles[:, lo:hi]
    offsets = np.arange(0, 36 * (n + 1), 36, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(text))


def _pick(rng: np.random.Generator, values: list[str], n: int, p: list[float] | None = None) -> Any:
    return pa.array(values).take(pa.array(rng.choice(len(values), size=n, p=p)))


def _money(cents: np.ndarray) -> Any:
    whole = pc.cast(pa.array(cents // 100), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), 2, "0")
    return pc.binary_join_element_wise(whole, frac, ".")


def _clean(rng: np.random.Generator, n: int) -> dict[str, Any]:
    customer = rng.integers(1, 500_000, size=n)
    customer_text = pc.cast(pa.array(customer), pa.string())
    domain = _pick(rng, DOMAINS, n)
    seconds = EPOCH_2024 + rng.integers(0, TWO_YEARS, size=n)
    ordered = pa.array(seconds, pa.timestamp("s"))
    status = _pick(rng, STATUSES, n, STATUS_WEIGHTS)
    ship_days = seconds // 86_400 + rng.integers(0, 10, size=n)
    ship = pc.strftime(pa.array(ship_days.astype("int32"), pa.date32()), format="%Y-%m-%d")
    coupon = _pick(rng, COUPONS, n)
    return {
        "order_id": _uuids(rng, n),
        "customer_id": customer_text,
        "customer_email": pc.binary_join_element_wise("user", customer_text, "@", domain, ""),
        "ordered_at": pc.strftime(ordered, format="%Y-%m-%dT%H:%M:%S"),
        "ship_date": pc.if_else(pc.is_in(status, pa.array(UNSHIPPED)), None, ship),
        "amount": _money(rng.integers(100, 500_000, size=n)),
        "quantity": pc.cast(pa.array(rng.integers(1, 20, size=n)), pa.string()),
        "currency": _pick(rng, CURRENCIES, n, CURRENCY_WEIGHTS),
        "status": status,
        "country": _pick(rng, COUNTRIES, n),
        "coupon": pc.if_else(pa.array(rng.random(n) < 0.25), coupon, None),
    }


def _bad_values(rng: np.random.Generator, columns: dict[str, Any], n: int) -> dict[str, Any]:
    """defect -> (column, replacement array over all rows); applied only where the mask is set."""
    impossible = _pick(rng, IMPOSSIBLE_DATES, n)
    return {
        "bad_uuid": ("order_id", pc.utf8_replace_slice(columns["order_id"], 0, 8, "zzzzzzzz")),
        "customer_id_abc": ("customer_id", "abc"),
        "quantity_abc": ("quantity", "abc"),
        "impossible_ship_date": ("ship_date", impossible),
        "impossible_ordered_at": (
            "ordered_at",
            pc.binary_join_element_wise(impossible, "T10:15:00", ""),
        ),
        "negative_amount": ("amount", pc.binary_join_element_wise("-", columns["amount"], "")),
        "amount_above_max": ("amount", _money(rng.integers(10_000_001, 99_999_999, size=n))),
        "bad_email": ("customer_email", pc.replace_substring(columns["customer_email"], "@", ".")),
        "currency_not_in_enum": ("currency", "XXX"),
        "status_not_in_enum": ("status", "lost"),
        "missing_customer_id": ("customer_id", None),
        "missing_email": ("customer_email", None),
        "coupon_too_long": ("coupon", "SUMMER-SALE-2024-EXTRA"),
        "country_too_long": ("country", "FRA"),
    }


def generate(rows: int, seed: int) -> tuple[pa.Table, pa.Table]:
    """The orders table (all strings, as read from CSV) and the truth table."""
    rng = np.random.default_rng(seed)
    columns = _clean(rng, rows)
    order = rng.permutation(rows)
    defect = np.full(rows, None, dtype=object)
    start = 0
    slices: dict[str, np.ndarray] = {}
    for name, share in DEFECTS.items():
        count = max(1, round(rows * share)) if rows >= 1000 else 0
        slices[name] = order[start : start + count]
        start += count
    # duplicates: each pairs with an otherwise clean earlier row, which stays "first"
    dup = slices["duplicate_order_id"]
    first = order[start : start + len(dup)]
    dup, first = np.maximum(dup, first), np.minimum(dup, first)
    slices["duplicate_order_id"] = dup
    defect[first] = DUPLICATE_FIRST
    source = np.arange(rows)
    source[dup] = first
    columns["order_id"] = columns["order_id"].take(pa.array(source))

    for name, (column, replacement) in _bad_values(rng, columns, rows).items():
        mask = np.zeros(rows, dtype=bool)
        mask[slices[name]] = True
        value = (
            pa.scalar(replacement, pa.string())
            if not isinstance(replacement, pa.Array)
            else replacement
        )
        columns[column] = pc.if_else(pa.array(mask), value, columns[column])
    for name, picked in slices.items():
        defect[picked] = name

    table = pa.table({name: pc.cast(array, pa.string()) for name, array in columns.items()})
    truth = pa.table(
        {
            "row": pa.array(np.arange(rows, dtype=np.int64)),
            "order_id": table["order_id"],
            "defect": pa.array(defect, pa.string()),
        }
    )
    return table, truth


def ensure(rows: int, seed: int, out_dir: Path) -> Path:
    """Generate the data set unless a cached copy for this seed and size exists."""
    path = data_path(out_dir, rows, seed)
    if path.exists() and truth_path(path).exists():
        return path
    out_dir.mkdir(parents=True, exist_ok=True)
    table, truth = generate(rows, seed)
    partial = path.with_suffix(".csv.partial")
    pacsv.write_csv(table, partial, pacsv.WriteOptions(quoting_style="none"))
    pq.write_table(truth, truth_path(path), compression="zstd")
    partial.rename(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("var/bench/enforcement"))
    args = parser.parse_args()
    started = time.perf_counter()
    path = ensure(args.rows, args.seed, args.out)
    print(f"{path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
