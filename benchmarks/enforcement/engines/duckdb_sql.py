"""Plain DuckDB SQL: one query flags every row, two COPY statements write the outputs."""

from __future__ import annotations

from pathlib import Path

from .. import rules
from .common import Engine, check_dataset, run_or_report_missing

TYPED = {
    "customer_id": "try_cast(customer_id AS BIGINT)",
    "quantity": "try_cast(quantity AS BIGINT)",
    "amount": "try_cast(amount AS DOUBLE)",
    "ordered_at": f"try_strptime(ordered_at, '{rules.TIMESTAMP_FORMAT}')",
    "ship_date": f"CAST(try_strptime(ship_date, '{rules.DATE_FORMAT}') AS DATE)",
}


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _failures(duplicates: str) -> dict[str, str]:
    """rule name -> SQL condition true where a row breaks it (a NULL outcome means no failure)."""
    checks = {f"{c}.required": f"{c} IS NULL" for c in rules.REQUIRED}
    for name, expr in TYPED.items():
        checks[f"{name}.type"] = f"{name} IS NOT NULL AND {expr} IS NULL"
    for name in rules.INTEGERS:
        pattern = _quote(rules.INTEGER_PATTERN)
        checks[f"{name}.type"] += f" OR NOT regexp_full_match({name}, {pattern})"
    for name, (low, high) in rules.BOUNDS.items():
        if low is not None:
            checks[f"{name}.minimum"] = f"{TYPED[name]} < {low}"
        if high is not None:
            checks[f"{name}.maximum"] = f"{TYPED[name]} > {high}"
    for name, pattern in rules.PATTERNS.items():
        checks[f"{name}.pattern"] = f"NOT regexp_full_match({name}, {_quote(pattern)})"
    for name, limit in rules.MAX_LENGTH.items():
        checks[f"{name}.maxLength"] = f"length({name}) > {limit}"
    for name, values in rules.ENUMS.items():
        checks[f"{name}.enum"] = f"{name} NOT IN ({', '.join(_quote(v) for v in values)})"
    # a key's later occurrences ("first") or all of them ("all"), found through `dups`
    repeated = "raw.rowid <> dups.first_row" if duplicates == "first" else "true"
    checks["order_id.unique"] = f"dups.first_row IS NOT NULL AND {repeated}"
    return checks


def run(input_path: str, out_dir: Path, duplicates: str) -> tuple[int, int]:
    import duckdb

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    con.execute(
        "CREATE TABLE raw AS SELECT * FROM read_csv(?, header = true, all_varchar = true)",
        [input_path],
    )
    rows_in, coupon_nulls = con.execute(
        "SELECT count(*), count(*) - count(coupon) FROM raw"
    ).fetchone() or (0, 0)
    check_dataset(rows_in, coupon_nulls)
    reasons = ", ".join(
        f"CASE WHEN {condition} THEN {_quote(name)} END"
        for name, condition in _failures(duplicates).items()
    )
    con.execute(
        "CREATE TABLE dups AS SELECT order_id, min(rowid) AS first_row FROM raw "
        "WHERE order_id IS NOT NULL GROUP BY order_id HAVING count(*) > 1"
    )
    columns = ", ".join(f"raw.{c}" for c in rules.COLUMNS)
    con.execute(
        f"CREATE TABLE checked AS SELECT {columns}, concat_ws(';', {reasons}) AS "
        f"{rules.REASON_COLUMN} FROM raw LEFT JOIN dups USING (order_id)"
    )
    con.execute("DROP TABLE raw")
    typed = ", ".join(f"{TYPED[c]} AS {c}" if c in TYPED else c for c in rules.COLUMNS)
    options = "(FORMAT parquet, COMPRESSION zstd)"
    con.execute(
        f"COPY (SELECT {typed} FROM checked WHERE {rules.REASON_COLUMN} = '') "
        f"TO {_quote(str(out_dir / rules.PASSED_FILE))} {options}"
    )
    con.execute(
        f"COPY (SELECT * FROM checked WHERE {rules.REASON_COLUMN} <> '') "
        f"TO {_quote(str(out_dir / rules.QUARANTINE_FILE))} {options}"
    )
    passed, quarantined = con.execute(
        f"SELECT count(*) FILTER ({rules.REASON_COLUMN} = ''), "
        f"count(*) FILTER ({rules.REASON_COLUMN} <> '') FROM checked"
    ).fetchone() or (0, 0)
    return passed, quarantined


def _load() -> Engine:
    import duckdb  # noqa: F401

    return run


if __name__ == "__main__":
    run_or_report_missing(_load)
