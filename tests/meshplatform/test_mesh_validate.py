"""`mesh validate`: the enforcement engine as a command for people and CI."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

CONTRACT = """\
apiVersion: v3.1.0
kind: DataContract
id: orders
version: 1.0.0
status: active
schema:
  - name: orders
    properties:
      - {name: order_id, logicalType: string, required: true, primaryKey: true}
      - {name: amount, logicalType: number, logicalTypeOptions: {minimum: 0}}
      - {name: email, logicalType: string, classification: restricted}
    quality:
      - {type: library, metric: rowCount, mustBeGreaterThan: %d}
"""
ROWS = "order_id,amount,email\n1,10,a@x.com\n2,-1,b@x.com\n2,5,c@x.com\n3,abc,d@x.com\n"


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "in.csv").write_text(ROWS)
    return tmp_path


def run(files: Path, min_rows: int, capsys: pytest.CaptureFixture[str]) -> str:
    (files / "contract.yaml").write_text(CONTRACT % min_rows)
    call_command(
        "mesh", "validate", "-c", str(files / "contract.yaml"), "-i", str(files / "in.csv"),
        "--out", str(files / "out"),
    )  # fmt: skip
    return capsys.readouterr().out


def test_validate_prints_counts_and_writes_passed_and_quarantined_rows(files, capsys) -> None:
    out = run(files, 0, capsys)
    assert "4 rows: 1 passed, 3 quarantined" in out
    assert "orders.amount:minimum" in out and "orders:primaryKey" in out
    passed = pq.read_table(files / "out" / "passed.parquet")
    quarantined = pq.read_table(files / "out" / "quarantine.parquet")
    assert passed.column("order_id").to_pylist() == ["1"]
    assert sorted(quarantined.column("_row").to_pylist()) == [1, 2, 3]
    assert "b@x.com" not in str(quarantined.to_pylist())  # restricted values are hashed


def test_validate_exits_non_zero_when_a_dataset_rule_fails(files, capsys) -> None:
    with pytest.raises(CommandError, match="dataset rule failed"):
        run(files, 10, capsys)
    assert "FAIL orders:rowCount" in capsys.readouterr().out


def test_validate_refuses_an_unknown_file_type(files) -> None:
    (files / "contract.yaml").write_text(CONTRACT % 0)
    (files / "in.xlsx").write_text("nope")
    with pytest.raises(CommandError, match=r"expected \.csv"):
        call_command(
            "mesh", "validate", "-c", str(files / "contract.yaml"), "-i", str(files / "in.xlsx")
        )
