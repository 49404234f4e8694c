"""The figures of the governance dashboard, each from one aggregate query.

A compliance score is the share of current verdicts that comply (passed, or failed under an
approved waiver), weighted by severity: a blocking policy counts three times a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from domains.models import Domain
from domains.permissions import sees_everything
from governance.models import ComplianceDay, Evaluation, Policy, Waiver
from products.models import AccessRequest, Run

WEIGHTS = {Policy.Severity.BLOCKING: 3, Policy.Severity.WARNING: 1}
TREND_DAYS = 30
COMPLIANT = Q(passed=True) | Q(waived=True)


@dataclass(frozen=True)
class Score:
    domain: str  # slug; "" for the whole mesh
    domain_id: int | None
    score: float | None  # percent; None: nothing judged yet
    failing: int  # verdicts that do not comply
    judged: int


def _score(rows: list[dict[str, Any]]) -> tuple[float | None, int, int]:
    total = sum(WEIGHTS[r["severity"]] * r["judged"] for r in rows)
    good = sum(WEIGHTS[r["severity"]] * r["complying"] for r in rows)
    judged = sum(r["judged"] for r in rows)
    failing = judged - sum(r["complying"] for r in rows)
    return (100.0 * good / total if total else None), failing, judged


def domains_for(user: Any) -> Any:
    domains = Domain.objects.order_by("slug")
    if not sees_everything(user):
        domains = domains.of_member(user)
    return domains


def scores(domain_ids: list[int] | None = None) -> tuple[Score, list[Score]]:
    """The mesh's score (over `domain_ids` when given) and each domain's."""
    current = Evaluation.objects.filter(current=True)
    if domain_ids is not None:
        current = current.filter(domain_id__in=domain_ids)
    rows = list(
        current.values("domain_id", "severity")
        .order_by()
        .annotate(judged=Count("id"), complying=Count("id", filter=COMPLIANT))
    )
    names = dict(
        Domain.objects.filter(pk__in={r["domain_id"] for r in rows}).values_list("pk", "slug")
    )
    per_domain = []
    for domain_id, slug in sorted(names.items(), key=lambda item: item[1]):
        score, failing, judged = _score([r for r in rows if r["domain_id"] == domain_id])
        per_domain.append(Score(slug, domain_id, score, failing, judged))
    score, failing, judged = _score(rows)
    return Score("", None, score, failing, judged), per_domain


def snapshot_scores(day: date) -> None:
    """Keep today's score of every domain and of the mesh for the trend line."""
    mesh, domains = scores()
    for score in [mesh, *domains]:
        if score.score is None:
            continue
        ComplianceDay.objects.update_or_create(
            day=day, domain_id=score.domain_id, defaults={"score": score.score}
        )


def trend(domain_ids: list[int] | None) -> list[tuple[date, float]]:
    """The last 30 days' scores: the mesh's for everyone-seers, else their domains' mean."""
    since = timezone.now().date() - timedelta(days=TREND_DAYS - 1)
    days = ComplianceDay.objects.filter(day__gte=since)
    if domain_ids is None:
        return list(days.filter(domain__isnull=True).values_list("day", "score"))
    by_day: dict[date, list[float]] = {}
    for day, score in days.filter(domain_id__in=domain_ids).values_list("day", "score"):
        by_day.setdefault(day, []).append(score)
    return [(day, sum(values) / len(values)) for day, values in sorted(by_day.items())]


def failing_most(domain_ids: list[int] | None, limit: int = 10) -> list[dict[str, Any]]:
    current = Evaluation.objects.filter(current=True).exclude(COMPLIANT)
    if domain_ids is not None:
        current = current.filter(domain_id__in=domain_ids)
    return list(
        current.values("policy_id", "policy__slug", "policy__title", "policy__severity")
        .order_by()
        .annotate(products=Count("product_id", distinct=True))
        .order_by("-products", "policy__slug")[:limit]
    )


def freshness_breaches(domain_ids: list[int] | None, limit: int = 20) -> list[dict[str, Any]]:
    current = Evaluation.objects.filter(
        current=True, passed=False, policy__rule__builtin="freshness_met"
    )
    if domain_ids is not None:
        current = current.filter(domain_id__in=domain_ids)
    rows: Any = (
        current.values("product__domain__slug", "product__slug", "message")
        .order_by("product__domain__slug", "product__slug")
        .distinct()[:limit]
    )
    return list(rows)


def quality_pass_rate(domain_ids: list[int] | None) -> float | None:
    """Share of checked rows that passed, over the runs of the last 30 days."""
    runs = Run.objects.filter(finished_at__gte=timezone.now() - timedelta(days=TREND_DAYS))
    if domain_ids is not None:
        runs = runs.filter(product__domain_id__in=domain_ids)
    totals = runs.aggregate(good=Sum("rows_written"), bad=Sum("rows_quarantined"))
    good, bad = totals["good"] or 0, totals["bad"] or 0
    return 100.0 * good / (good + bad) if good + bad else None


def open_items(domain_ids: list[int] | None) -> dict[str, int]:
    now = timezone.now()
    waivers = Waiver.objects.all()
    requests = AccessRequest.objects.filter(status="requested")
    if domain_ids is not None:
        waivers = waivers.filter(product__domain_id__in=domain_ids)
        requests = requests.filter(product__domain_id__in=domain_ids)
    counted = waivers.aggregate(
        requested=Count("id", filter=Q(status=Waiver.Status.REQUESTED)),
        active=Count("id", filter=Q(status=Waiver.Status.APPROVED, expires_at__gt=now)),
    )
    return {
        "waivers_requested": counted["requested"],
        "waivers_active": counted["active"],
        "access_requests": requests.count(),
    }


def figures(user: Any) -> dict[str, Any]:
    """Every figure of the dashboard for `user`: the mesh for the council, else their domains."""
    domain_ids = (
        None if sees_everything(user) else list(domains_for(user).values_list("pk", flat=True))
    )
    mesh, per_domain = scores(domain_ids)
    return {
        "mesh": _as_dict(mesh),
        "domains": [_as_dict(score) for score in per_domain],
        "trend": [
            {"day": day.isoformat(), "score": round(score, 2)} for day, score in trend(domain_ids)
        ],
        "failingMost": [
            {
                "policy": row["policy__slug"],
                "title": row["policy__title"],
                "severity": row["policy__severity"],
                "products": row["products"],
            }
            for row in failing_most(domain_ids)
        ],
        "freshnessBreaches": [
            {
                "product": f"{row['product__domain__slug']}/{row['product__slug']}",
                "domain": row["product__domain__slug"],
                "slug": row["product__slug"],
                "message": row["message"],
            }
            for row in freshness_breaches(domain_ids)
        ],
        "qualityPassRate": quality_pass_rate(domain_ids),
        "open": open_items(domain_ids),
    }


def _as_dict(score: Score) -> dict[str, Any]:
    return {
        "domain": score.domain or None,
        "score": None if score.score is None else round(score.score, 2),
        "failing": score.failing,
        "judged": score.judged,
    }


def verdicts_for(user: Any, *, domain: str = "", policy: str = "", state: str = "") -> Any:
    """Current verdicts `user` may see, filtered as the dashboard's drill-down asks:
    by domain slug, policy slug and state (`failing`, `waived`, `passing`); failures first."""
    verdicts = Evaluation.objects.filter(current=True).select_related(
        "policy__domain", "product__domain"
    )
    if not sees_everything(user):
        verdicts = verdicts.filter(domain__in=domains_for(user))
    if domain:
        verdicts = verdicts.filter(domain__slug=domain)
    if policy:
        verdicts = verdicts.filter(policy__slug=policy)
    if state == "failing":
        verdicts = verdicts.exclude(COMPLIANT)
    elif state == "waived":
        verdicts = verdicts.filter(waived=True)
    elif state == "passing":
        verdicts = verdicts.filter(passed=True)
    return verdicts.order_by("passed", "product__domain__slug", "product__slug", "policy__slug")
