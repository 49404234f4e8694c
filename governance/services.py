"""Writes about policies and waivers: authorise, change, version, audit.

Global policies are the governance council's (and admins'); a domain's policies are its
owners'. A domain adds policies of its own and cannot edit or switch off a global one.
Waivers are asked for by the product's domain owners and decided by the council.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from domains.models import Domain
from domains.permissions import can_manage_domain, sees_everything
from governance import audit
from governance.dashboard import snapshot_scores
from governance.evaluation import enabled_policies, for_policies, judge, record
from governance.models import Evaluation, Policy, PolicyVersion, Waiver
from governance.policy import compile_policy
from meshplatform.errors import Conflict, Forbidden, Invalid
from meshplatform.slugs import check_slug
from products.models import DataProduct, Status

POLICY_FIELDS = ("title", "description", "severity", "target", "rule", "enabled")
MAX_WAIVER = timedelta(days=180)


def can_manage_policies(user: Any, domain: Domain | None) -> bool:
    return sees_everything(user) if domain is None else can_manage_domain(user, domain)


def _require_manager(actor: Any, domain: Domain | None) -> None:
    if not can_manage_policies(actor, domain):
        who = "the governance council" if domain is None else f"the owners of '{domain.slug}'"
        raise Forbidden(f"Only {who} manage these policies.")


def snapshot(policy: Policy) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in ("slug", "scope", *POLICY_FIELDS)}


def _check(values: dict[str, Any]) -> None:
    if values.get("severity") not in Policy.Severity.values:
        raise Invalid("Unknown severity.", fields={"severity": "blocking or warning."})
    if not str(values.get("title") or "").strip():
        raise Invalid("A policy needs a title.", fields={"title": "Required."})
    if len(str(values.get("description") or "").strip()) < 10:
        raise Invalid(
            "Say why the policy exists and how to comply.",
            fields={"description": "At least 10 characters."},
        )
    values["target"] = compile_policy(values.get("rule"), values.get("target")).target


@transaction.atomic
def create_policy(*, actor: Any, domain: Domain | None, slug: str, **values: Any) -> Policy:
    """A new policy, version 1: global when `domain` is None."""
    _require_manager(actor, domain)
    check_slug(slug)
    values = {name: values.get(name) for name in POLICY_FIELDS}
    values["enabled"] = bool(values["enabled"]) if values["enabled"] is not None else True
    _check(values)
    taken = Policy.objects.filter(slug=slug, domain=domain).exists()
    if taken:
        raise Conflict(f"A policy '{slug}' already exists here.", fields={"slug": "Taken."})
    policy = Policy.objects.create(
        slug=slug,
        domain=domain,
        scope=Policy.Scope.GLOBAL if domain is None else Policy.Scope.DOMAIN,
        created_by=actor,
        **values,
    )
    _version(policy, actor)
    audit.record(
        actor=actor, action="policy.created", target=policy,
        domain_slug=domain.slug if domain else "", after=snapshot(policy),
    )  # fmt: skip
    judge_policy(policy)
    return policy


@transaction.atomic
def update_policy(*, policy: Policy, actor: Any, **changes: Any) -> Policy:
    """Change a policy: a new version, audited. Only its own scope's managers may."""
    _require_manager(actor, policy.domain)
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise Invalid(
            "These fields cannot be changed.", fields=dict.fromkeys(unknown, "Read-only.")
        )
    policy = Policy.objects.select_for_update().get(pk=policy.pk)
    before = snapshot(policy)
    values = {**{name: getattr(policy, name) for name in POLICY_FIELDS}, **changes}
    _check(values)
    if all(values[name] == before[name] for name in POLICY_FIELDS):
        return policy
    for name in POLICY_FIELDS:
        setattr(policy, name, values[name])
    policy.version += 1
    policy.save()
    _version(policy, actor)
    audit.record(
        actor=actor, action="policy.changed", target=policy,
        domain_slug=policy.domain.slug if policy.domain else "",
        before=before, after=snapshot(policy),
    )  # fmt: skip
    judge_policy(policy)
    return policy


def judge_policy(policy: Policy) -> None:
    """A policy enabled or changed judges its products at once; a disabled one stops counting
    (its verdicts leave the dashboard, their history stays)."""
    if not policy.enabled:
        Evaluation.objects.filter(policy=policy, current=True).update(current=False)
        return
    _judge_in_batches(_judged(policy.domain_id), [policy], timezone.now())


def _judge_in_batches(
    products: Any, policies: list[Policy], now: datetime, batch: int = 2000
) -> int:
    """Judge `products` (a queryset) on `policies`, a batch of views at a time so that memory
    stays bounded; record the verdicts that changed and say how many."""
    ids = list(products.values_list("pk", flat=True))
    written = 0
    for start in range(0, len(ids), batch):
        rows = list(for_policies(DataProduct.objects.filter(pk__in=ids[start : start + batch])))
        verdicts = judge(rows, Evaluation.Moment.SWEEP, now=now, policies=policies)
        written += record(verdicts, Evaluation.Moment.SWEEP, now=now, only_changes=True)
    return written


def _version(policy: Policy, actor: Any) -> None:
    PolicyVersion.objects.create(
        policy=policy, version=policy.version, snapshot=snapshot(policy), changed_by=actor
    )


@dataclass(frozen=True)
class DraftReport:
    products: int
    failing: list[dict[str, Any]]

    @property
    def summary(self) -> str:
        domains = len({row["product"].split("/")[0] for row in self.failing})
        return (
            f"This would fail {len(self.failing)} of {self.products} products "
            f"in {domains} {'domain' if domains == 1 else 'domains'}."
        )


def _judged(domain_id: int | None) -> QuerySet[DataProduct]:
    """The products policies judge (all but retired ones), of one domain when given."""
    products = DataProduct.objects.exclude(status=Status.RETIRED)
    return products if domain_id is None else products.filter(domain_id=domain_id)


def try_policy(*, actor: Any, domain: Domain | None, rule: Any, target: Any = None) -> DraftReport:
    """Evaluate a draft policy on every product it would apply to, saving nothing."""
    _require_manager(actor, domain)
    draft = Policy(  # unsaved: no pk, so its compiled rule is not cached
        slug="draft", title="Draft", description="", domain=domain, rule=rule,
        target=compile_policy(rule, target).target, severity=Policy.Severity.WARNING, version=0,
    )  # fmt: skip
    rows = list(for_policies(_judged(domain.pk if domain is not None else None)))
    verdicts = judge(rows, Evaluation.Moment.SWEEP, policies=[draft])
    failing = [
        {"product": v.product.address, "message": v.message} for v in verdicts if not v.passed
    ]
    return DraftReport(products=len(verdicts), failing=failing)


def sweep(*, now: datetime | None = None) -> int:
    """Judge every product on every policy (the periodic sweep); record what changed."""
    now = now or timezone.now()
    expire_waivers(now)
    written = _judge_in_batches(_judged(None), enabled_policies(), now)
    snapshot_scores(now.date())
    return written


@transaction.atomic
def request_waiver(
    *, actor: Any, policy: Policy, product: DataProduct, reason: str, until: datetime
) -> Waiver:
    """A domain owner asks the council to excuse one product from one policy for a while."""
    if not can_manage_domain(actor, product.domain):
        raise Forbidden(f"Only owners of '{product.domain.slug}' ask for waivers.")
    if not reason.strip():
        raise Invalid("Say why the product needs the exception.", fields={"reason": "Required."})
    now = timezone.now()
    if until <= now or until - now > MAX_WAIVER:
        raise Invalid(
            "A waiver ends in the future, within 180 days.", fields={"until": "Out of range."}
        )
    if policy.domain_id not in (None, product.domain_id):
        raise Invalid(
            "That policy does not apply to this product.", fields={"policy": "Other domain."}
        )
    waiver = Waiver.objects.create(
        policy=policy, product=product, reason=reason.strip(), requested_by=actor, expires_at=until
    )
    audit.record(
        actor=actor, action="waiver.requested", target=waiver, domain_slug=product.domain.slug,
        after={"policy": str(policy), "product": product.address, "until": until.isoformat()},
    )  # fmt: skip
    return waiver


@transaction.atomic
def decide_waiver(*, actor: Any, waiver: Waiver, approve: bool) -> Waiver:
    """The council approves or denies a requested waiver; the product is judged again."""
    if not sees_everything(actor):
        raise Forbidden("Only the governance council decides waivers.")
    waiver = Waiver.objects.select_for_update().select_related("product__domain").get(pk=waiver.pk)
    if waiver.status != Waiver.Status.REQUESTED:
        raise Conflict(f"This waiver is already {waiver.status}.")
    waiver.status = Waiver.Status.APPROVED if approve else Waiver.Status.DENIED
    waiver.decided_by, waiver.decided_at = actor, timezone.now()
    waiver.save(update_fields=["status", "decided_by", "decided_at"])
    audit.record(
        actor=actor, action=f"waiver.{waiver.status}", target=waiver,
        domain_slug=waiver.product.domain.slug, after={"status": waiver.status},
    )  # fmt: skip
    rejudge(waiver.product)
    return waiver


def expire_waivers(now: datetime) -> int:
    """Approved waivers whose end has passed become `expired`, each with an audit event.

    They stopped excusing anything at their end already (verdicts check `expires_at`); this
    makes it visible and recorded.
    """
    ended = list(
        Waiver.objects.filter(status=Waiver.Status.APPROVED, expires_at__lte=now).select_related(
            "product__domain", "policy__domain"
        )
    )
    for waiver in ended:
        with transaction.atomic():
            if not Waiver.objects.filter(pk=waiver.pk, status=Waiver.Status.APPROVED).update(
                status=Waiver.Status.EXPIRED
            ):
                continue  # another sweep took it
            audit.record(
                actor=None, action="waiver.expired", target=waiver,
                domain_slug=waiver.product.domain.slug,
                after={"policy": str(waiver.policy), "product": waiver.product.address,
                       "ended": waiver.expires_at.isoformat()},
            )  # fmt: skip
    return len(ended)


def rejudge(product: DataProduct, *, now: datetime | None = None) -> None:
    """Judge one product on every policy now (after a waiver changed, a run finished)."""
    rows = list(for_policies(DataProduct.objects.filter(pk=product.pk)))
    record(judge(rows, Evaluation.Moment.SWEEP, now=now), Evaluation.Moment.SWEEP, now=now)
