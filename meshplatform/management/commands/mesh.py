"""`python manage.py mesh …`: products as code and audit checks, for people and CI.

mesh apply -f product.yaml -f contract.yaml --as alice   (or -f a-directory/)
mesh export [domain/product ...] -o DIR
mesh audit verify [--export FILE]
mesh demo                                               (loads the demo mesh)
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from governance.audit import verify_chain, verify_export
from governance.checks import check_files
from meshplatform.demo import load_demo
from meshplatform.errors import PlatformError
from meshplatform.keys import quarantine_hash_key
from products.contracts.enforce import validate_file
from products.models import DataProduct
from products.productcode import apply_files, export_product

MAX_FILE_BYTES = 1024 * 1024
DOCUMENT_SUFFIXES = {".yaml", ".yml", ".json"}


class Command(BaseCommand):
    help = "Products as code (apply, export), audit verification and the demo mesh."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        apply = sub.add_parser(
            "apply", help="Create or update products from descriptor and contract files."
        )
        apply.add_argument(
            "-f",
            "--file",
            action="append",
            required=True,
            dest="files",
            help="A descriptor or contract file, or a directory of them; repeatable.",
        )
        apply.add_argument(
            "--as", dest="username", required=True, help="The user the changes are made as."
        )
        export = sub.add_parser(
            "export", help="Write products' descriptors and contracts to a directory."
        )
        export.add_argument("addresses", nargs="*", help="domain/product; all when omitted.")
        export.add_argument("-o", "--out", required=True)
        audit = sub.add_parser("audit", help="Audit log checks.")
        audit.add_argument("check", choices=["verify"])
        audit.add_argument(
            "--export",
            metavar="FILE",
            help="Verify an exported JSON-lines file instead, without the database.",
        )
        check = sub.add_parser(
            "check", help="Judge descriptor and contract files on the policies; save nothing."
        )
        check.add_argument("-f", "--file", action="append", required=True, dest="files")
        check.add_argument("--as", dest="username", required=True, help="Judged as this user.")
        sub.add_parser("demo", help="Load the demo mesh (idempotent).")
        validate = sub.add_parser(
            "validate", help="Check a CSV, JSON-lines or Parquet file against an ODCS contract."
        )
        validate.add_argument("-c", "--contract", required=True, help="The ODCS contract file.")
        validate.add_argument("-i", "--input", required=True, help=".csv, .jsonl or .parquet")
        validate.add_argument("--out", help="Write passed.parquet and quarantine.parquet here.")
        validate.add_argument("--object", help="The schema object (default: the first).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"handle_{options['action']}")(**options)
        except PlatformError as error:
            details = "".join(f"\n  {path}: {message}" for path, message in error.fields.items())
            raise CommandError(f"{error.message}{details}") from error

    def handle_apply(self, *, files: list[str], username: str, **_: Any) -> None:
        actor = get_user_model().objects.filter(username=username, is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user '{username}'.")
        result = apply_files(files=list(_read_files(files)), actor=actor)
        for change in result.changes:
            self.stdout.write(change)
        self.stdout.write("changed" if result.changed else "unchanged: nothing to do")

    def handle_check(self, *, files: list[str], username: str, **_: Any) -> None:
        """Exit non-zero when a blocking policy fails (for a domain team's CI)."""
        actor = get_user_model().objects.filter(username=username, is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user '{username}'.")
        verdicts = check_files(files=_read_files(files), actor=actor)
        for v in verdicts:
            mark = "ok" if v.passed else ("waived" if v.waived else v.policy.severity.upper())
            self.stdout.write(f"{mark:8} {v.product.address}  {v.policy}: {v.message}")
            if v.blocks:
                self.stdout.write(f"         how to comply: {v.policy.description}")
        blocking = sum(v.blocks for v in verdicts)
        if blocking:
            raise CommandError(f"{blocking} blocking policy failures.")
        self.stdout.write(f"{len(verdicts)} verdicts, no blocking failure.")

    def handle_export(self, *, addresses: list[str], out: str, **_: Any) -> None:
        products = DataProduct.objects.select_related("domain", "owner").prefetch_related(
            "tags", "ports"
        )
        if addresses:
            wanted = Q(pk__in=[])
            for address in addresses:
                domain_slug, slug = address.split("/", 1) if "/" in address else (address, "")
                wanted |= Q(domain__slug=domain_slug, slug=slug)
            products = products.filter(wanted)
        for product in products:
            folder = Path(out) / product.domain.slug / product.slug
            folder.mkdir(parents=True, exist_ok=True)
            for name, text in export_product(product).items():
                # newline="" keeps the document's own line endings: export is byte for byte.
                (folder / name).write_text(text, encoding="utf-8", newline="")
            self.stdout.write(f"{product.address} -> {folder}")

    def handle_audit(self, *, export: str | None = None, **_: Any) -> None:
        if export:
            self._verify_export(export)
            return
        report = verify_chain()
        if not report.ok:
            at = f" at event #{report.first_bad_id}" if report.first_bad_id else ""
            raise CommandError(
                f"Audit chain broken{at}: {report.reason} "
                f"({report.checked} events verified before it)."
            )
        if report.warning:
            self.stderr.write(self.style.WARNING(f"Warning: {report.warning}."))
        self.stdout.write(f"Audit chain intact: {report.checked} events verified.")

    def _verify_export(self, path: str) -> None:
        try:
            with open(path, "rb") as lines:
                report = verify_export(lines)
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from error
        if not report.ok:
            raise CommandError(
                f"{path}, line {report.first_bad_line}: {report.reason} "
                f"({report.checked} events verified before it)."
            )
        if not report.checked:
            self.stdout.write(f"{path} holds no events.")
        elif report.complete:
            self.stdout.write(
                f"Export intact: {report.checked} events verified, the whole chain from #1 to "
                f"#{report.last_id}; last hash {report.last_hash}."
            )
        else:
            self.stdout.write(
                f"Export verified line by line: {report.checked} events, each matching its "
                f"hash. Not contiguous (a filtered export?): it starts at #{report.first_id} and "
                f"skips ids {report.skips} time(s), so links were checked between consecutive "
                "ids only and it cannot show that nothing is missing."
            )

    def handle_validate(
        self, *, contract: str, input: str, out: str | None, object: str | None, **_: Any
    ) -> None:
        (_, text), *_rest = _read_files([contract])
        if not Path(input).is_file():
            raise CommandError(f"No such file: {input}")
        report = validate_file(text, input, out, hash_key=quarantine_hash_key(), object_name=object)
        self.stdout.write(
            f"{report.rows_in} rows: {report.rows_passed} passed, "
            f"{report.rows_quarantined} quarantined ({report.batches} batches)"
        )
        width = max((len(rule) for rule in report.report.rule_counts), default=4)
        for rule, counts in sorted(report.report.rule_counts.items()):
            self.stdout.write(f"  {rule:<{width}}  checked {counts['checked']:>10}  "
                              f"failed {counts['failed']:>8}")  # fmt: skip
        for verdict in report.report.dataset:
            mark = "ok  " if verdict["passed"] else "FAIL"
            self.stdout.write(
                f"  {mark} {verdict['rule']}: {verdict['actual']} (expected {verdict['expected']})"
            )
        if out:
            self.stdout.write(f"Wrote {report.passed_path} and {report.quarantine_path}")
        if not report.ok:
            raise CommandError("A dataset rule failed: this data would not be published.")

    def handle_demo(self, **_: Any) -> None:
        for line in load_demo():
            self.stdout.write(line)


def _read_files(paths: list[str]) -> Any:
    for raw in paths:
        path = Path(raw)
        candidates = (
            sorted(p for p in path.rglob("*") if p.suffix in DOCUMENT_SUFFIXES)
            if path.is_dir()
            else [path]
        )
        for candidate in candidates:
            if not candidate.is_file():
                raise CommandError(f"No such file: {candidate}")
            if candidate.stat().st_size > MAX_FILE_BYTES:
                raise CommandError(f"{candidate} is larger than 1 MiB.")
            with candidate.open(encoding="utf-8", newline="") as handle:
                yield str(candidate), handle.read()
