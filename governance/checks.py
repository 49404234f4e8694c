"""Judging descriptor and contract files without saving them: `mesh check` and the check API.

The files are applied exactly as `mesh apply` would (same services, same validation), inside a
transaction that is always rolled back, with verdicts collected instead of enforced: a team's
CI sees the verdicts the platform would reach, and nothing is written or enqueued.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from governance.evaluation import Verdict, collecting
from products.productcode import apply_files


def check_files(*, files: list[tuple[str, str]], actor: Any) -> list[Verdict]:
    """Every policy verdict on the products the files describe, blocking ones first."""
    with collecting() as found, transaction.atomic():
        apply_files(files=files, actor=actor)
        transaction.set_rollback(True)
    return sorted(found.values(), key=lambda v: (not v.blocks, v.passed, str(v.policy)))
