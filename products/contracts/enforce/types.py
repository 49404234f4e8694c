"""Logical type conversion: raw values (usually text) to the contract's types, with failure masks.

A value that does not convert is a row failure, never a crash. Parsers accept more than the
contract means (polars reads "2024-2-3", " 2024-02-03" and a leap second "23:59:60" as dates
and times, and "inf" or "1e400" as numbers), so every text conversion is gated by a shape regex
on a linear-time engine (polars' Rust regex) before the strict parse.
"""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import dataclass

import polars as pl
import pyarrow as pa

INTEGER_SHAPE = r"^[+-]?[0-9]+$"
NUMBER_SHAPE = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
TRUE_TEXT = ("true", "1")
FALSE_TEXT = ("false", "0")
PASSTHROUGH_TYPES = frozenset({"object", "array", "map", "vector"})

# Java-style date pattern tokens (what ODCS authors write) -> (strftime token, strict regex).
_TOKENS: dict[str, tuple[str, str]] = {
    "yyyy": ("%Y", "[0-9]{4}"),
    "MM": ("%m", "(0[1-9]|1[0-2])"),
    "dd": ("%d", "(0[1-9]|[12][0-9]|3[01])"),
    "HH": ("%H", "([01][0-9]|2[0-3])"),
    "mm": ("%M", "[0-5][0-9]"),
    "ss": ("%S", "[0-5][0-9]"),
    "SSS": ("%3f", "[0-9]{3}"),
    "SSSSSS": ("%6f", "[0-9]{6}"),
}
_TOKEN_RE = re.compile(r"'[^']*'|SSSSSS|SSS|yyyy|MM|dd|HH|mm|ss|[A-Za-z]|[^A-Za-z']")

DEFAULT_DATE = ("%Y-%m-%d", "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")
DEFAULT_TIME = ("%H:%M:%S%.f", "^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?$")
_DAY = "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_CLOCK = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?"
DEFAULT_TIMESTAMP_SHAPE = f"^{_DAY}[T ]{_CLOCK}(Z|[+-][0-9]{{2}}:?[0-9]{{2}})?$"
# Tried in order, each only on the values the previous ones left unparsed. The first has no
# fraction: polars parses that exact shape on a fast path (0.17 s against 0.82 s for 2,000,000
# values with `%.f`), and the values it leaves (fractions, offsets, a space) are retried.
DEFAULT_TIMESTAMP_FORMATS = (
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f%#z",
)


class FormatUnsupported(ValueError):
    """A date/time pattern this engine cannot parse strictly."""


@dataclass(frozen=True)
class TemporalFormat:
    formats: tuple[str, ...]
    shape: str


def java_pattern(pattern: str) -> TemporalFormat:
    """`yyyy-MM-dd'T'HH:mm:ss` -> strftime format plus an anchored strict regex."""
    strftime, shape = "", ""
    for token in _TOKEN_RE.findall(pattern):
        if token in _TOKENS:
            fmt, rx = _TOKENS[token]
            if fmt.endswith("f"):
                if not strftime.endswith("."):
                    raise FormatUnsupported("fractions must follow a '.'")
                strftime = strftime[:-1] + "%." + fmt[1:]
            else:
                strftime += fmt
            shape += rx
        elif token.startswith("'"):
            literal = token[1:-1] or "'"
            strftime += literal.replace("%", "%%")
            shape += re.escape(literal)
        elif token.isalpha():
            raise FormatUnsupported(f"unsupported pattern letter {token!r}")
        else:
            strftime += token.replace("%", "%%")
            shape += re.escape(token)
    return TemporalFormat((strftime,), f"^{shape}$")


def temporal_format(logical_type: str, pattern: str | None) -> TemporalFormat:
    if pattern:
        return java_pattern(pattern)
    if logical_type == "date":
        return TemporalFormat((DEFAULT_DATE[0],), DEFAULT_DATE[1])
    if logical_type == "time":
        return TemporalFormat((DEFAULT_TIME[0],), DEFAULT_TIME[1])
    return TemporalFormat(DEFAULT_TIMESTAMP_FORMATS, DEFAULT_TIMESTAMP_SHAPE)


def polars_type(logical_type: str) -> pl.DataType:
    return {
        "string": pl.String(),
        "integer": pl.Int64(),
        "number": pl.Float64(),
        "boolean": pl.Boolean(),
        "date": pl.Date(),
        "time": pl.Time(),
        "timestamp": pl.Datetime("us", "UTC"),
    }[logical_type]


def arrow_type(logical_type: str) -> pa.DataType:
    return {
        "string": pa.string(),
        "integer": pa.int64(),
        "number": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "time": pa.time64("us"),
        "timestamp": pa.timestamp("us", tz="UTC"),
    }[logical_type]


def convert_expr(
    raw: pl.Expr, dtype_in: pl.DataType, logical_type: str, fmt: TemporalFormat | None
) -> pl.Expr:
    """The typed values; null where the input is null or does not convert.

    Default timestamps try only their first format here; `complete_timestamps` retries the rest
    on the few values left unparsed, so the common case pays for one parse.
    """
    if logical_type in PASSTHROUGH_TYPES:
        return raw
    target = polars_type(logical_type)
    if dtype_in == target:
        return raw
    if dtype_in != pl.String:
        if _castable(dtype_in, logical_type):
            return raw.cast(target, strict=False)
        raw = raw.cast(pl.String, strict=False)
    return _from_text(raw, logical_type, fmt)


def _from_text(raw: pl.Expr, logical_type: str, fmt: TemporalFormat | None) -> pl.Expr:
    # polars' text-to-number casts accept exactly INTEGER_SHAPE / NUMBER_SHAPE (no spaces,
    # separators, hex or unicode digits; checked on 2,000,000 random strings and the edge cases
    # in the tests) apart from "inf", "nan" and overflow, which is_finite and the null of a
    # failed cast reject: the shape regexes cost as much as the casts and are not run.
    if logical_type == "integer":
        return raw.cast(pl.Int64, strict=False)
    if logical_type == "number":
        parsed = raw.cast(pl.Float64, strict=False)
        return pl.when(parsed.is_finite()).then(parsed)
    if logical_type == "boolean":
        lowered = raw.str.to_lowercase()
        return (
            pl.when(lowered.is_in(TRUE_TEXT)).then(True).when(lowered.is_in(FALSE_TEXT)).then(False)
        )
    if fmt is None:  # string
        return raw
    return pl.when(raw.str.contains(fmt.shape)).then(_strptime(raw, logical_type, fmt.formats[0]))


def complete_timestamps(raw: pl.Series, typed: pl.Series, fmt: TemporalFormat) -> pl.Series:
    """Retry the remaining formats on well-shaped values the first format could not parse."""
    if len(fmt.formats) < 2 or raw.dtype != pl.String:
        return typed
    # Only the few well-shaped values left unparsed are retried: parsing the whole column again
    # with each remaining format cost more than all the row rules of a batch together.
    need = (raw.is_not_null() & typed.is_null()).arg_true()
    if need.len() == 0:
        return typed
    need = need.filter(raw.gather(need).str.contains(fmt.shape))
    if need.len() == 0:
        return typed
    values = raw.gather(need)
    retried = pl.Series(typed.name, [None] * need.len(), dtype=typed.dtype)
    for one in fmt.formats[1:]:
        parsed = pl.select(_strptime(pl.lit(values), "timestamp", one)).to_series()
        retried = retried.fill_null(parsed)
        if retried.null_count() == 0:
            break
    return typed.clone().scatter(need, retried)


def _castable(dtype: pl.DataType, logical_type: str) -> bool:
    """Typed inputs (Parquet, JSON) that convert without loss of meaning."""
    if logical_type == "string":
        return True
    if logical_type == "integer":
        return dtype.is_integer()
    if logical_type == "number":
        return dtype.is_numeric()
    if logical_type == "timestamp":
        return isinstance(dtype, pl.Datetime) or dtype == pl.Date
    return False


def _strptime(raw: pl.Expr, logical_type: str, fmt: str) -> pl.Expr:
    if logical_type == "date":
        return raw.str.strptime(pl.Date, fmt, strict=False)
    if logical_type == "time":
        return raw.str.strptime(pl.Time, fmt, strict=False)
    # No cache of distinct values: timestamps are nearly all distinct, and the cache (a hash
    # map per batch) cost as much as the parse itself (0.12 -> 0.06 s for 2,000,000 values).
    # Dates repeat, and keep it.
    parsed = raw.str.strptime(pl.Datetime("us"), fmt, strict=False, cache=False)
    if "z" in fmt:
        return parsed.dt.convert_time_zone("UTC")
    return parsed.dt.replace_time_zone("UTC")


def convert_values(values: pl.Series, logical_type: str, fmt: TemporalFormat | None) -> pl.Series:
    typed = pl.select(convert_expr(pl.lit(values), values.dtype, logical_type, fmt)).to_series()
    if logical_type == "timestamp" and fmt is not None:
        typed = complete_timestamps(values, typed, fmt)
    return typed


def parse_literal(value: object, logical_type: str, fmt: TemporalFormat | None) -> object:
    """A bound or enum value from the contract, in the column's polars type (None if it fails)."""
    if value is None:
        return None
    text = (
        value
        if isinstance(value, str)
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
    )
    if logical_type == "string":
        return text if isinstance(value, str) else None
    if logical_type in ("date", "timestamp", "time") and isinstance(value, str):
        literal_fmt = temporal_format(logical_type, None)
        parsed = convert_values(pl.Series([value]), logical_type, literal_fmt)
        if parsed[0] is None and fmt is not None:
            parsed = convert_values(pl.Series([value]), logical_type, fmt)
        return parsed[0]
    return convert_values(pl.Series([text]), logical_type, fmt)[0]


_ONE_OF_MAX = 16  # listed values compared one by one up to this many; a hash lookup beyond


def one_of(column: pl.Expr, values: pl.Series) -> pl.Expr:
    """`column.is_in(values)`: null for a null value, nulls in `values` never match.

    A short list of texts or integers (enums) is compared value by value: string views and
    integers compare without hashing, 2.8x faster than `is_in` for six currencies.
    """
    listed = values.drop_nulls()
    if not 0 < listed.len() <= _ONE_OF_MAX or not (
        listed.dtype == pl.String or listed.dtype.is_integer()
    ):
        return column.is_in(values.implode())
    matches = [column == pl.lit(value, dtype=listed.dtype) for value in listed.to_list()]
    return functools.reduce(operator.or_, matches)
