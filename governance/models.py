"""Rules and their record: the append-only, hash-chained audit log."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from domains.models import Domain
from domains.permissions import sees_everything


class AuditEvent(models.Model):
    """One write anybody made. Rows are never updated or deleted (database triggers refuse
    it); each stores the hash of its content and of the previous row, so an edit made
    behind the app's back breaks the chain and `mesh audit verify` names the row."""

    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        null=True,
        db_constraint=False,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=300)
    domain_slug = models.CharField(max_length=63, blank=True)
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["action"]),
            models.Index(fields=["domain_slug"]),
            models.Index(fields=["occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.target_repr}"


class AuditChainHead(models.Model):
    """A single row holding the chain's last hash; locking it serialises audit writers."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"audit head #{self.last_event_id}"


class PolicyQuerySet(models.QuerySet["Policy"]):
    def visible_to(self, user: Any) -> PolicyQuerySet:
        """Global policies and those of the user's domains; every one for the council."""
        policies = self.select_related("domain")
        if sees_everything(user):
            return policies
        member_of = Domain.objects.of_member(user)
        return policies.filter(models.Q(domain__isnull=True) | models.Q(domain__in=member_of))


class Policy(models.Model):
    """A rule products are held to: global (the council's) or one domain's (its owners').

    Every change makes a new version (`PolicyVersion`, append-only) and an audit event; a
    verdict names the version it was reached under. A domain adds policies; it can neither
    edit nor switch off a global one.
    """

    class Scope(models.TextChoices):
        GLOBAL = "global", "Global"
        DOMAIN = "domain", "Domain"

    class Severity(models.TextChoices):
        BLOCKING = "blocking", "Blocking"
        WARNING = "warning", "Warning"

    slug = models.SlugField(max_length=63)
    title = models.CharField(max_length=200)
    description = models.TextField()  # why it exists and how to comply
    scope = models.CharField(max_length=8, choices=Scope.choices)
    domain = models.ForeignKey(
        "domains.Domain", on_delete=models.PROTECT, null=True, blank=True, related_name="policies"
    )
    severity = models.CharField(max_length=8, choices=Severity.choices)
    target = models.JSONField(default=dict)  # {"kind": all|tag|classification|domain, values}
    rule = models.JSONField()  # {"builtin", "params"} or {"cel", "message"}
    enabled = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PolicyQuerySet.as_manager()

    class Meta:
        ordering = ["scope", "slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["slug"], condition=models.Q(domain__isnull=True), name="global_policy_slug"
            ),
            models.UniqueConstraint(fields=["domain", "slug"], name="domain_policy_slug"),
            models.CheckConstraint(
                condition=models.Q(scope="global", domain__isnull=True)
                | models.Q(scope="domain", domain__isnull=False),
                name="policy_scope_matches_domain",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.domain.slug if self.domain else 'global'}:{self.slug}"


class PolicyVersion(models.Model):
    """What a policy said at one version (append-only)."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    snapshot = models.JSONField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["policy", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "version"], name="policy_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.policy} v{self.version}"


class EvaluationQuerySet(models.QuerySet["Evaluation"]):
    def current_for(self, product: Any) -> EvaluationQuerySet:
        """A product's latest verdicts, failing ones first: its Compliance tab and API."""
        return (
            self.filter(product=product, current=True)
            .select_related("policy__domain")
            .order_by("passed", "waived", "policy__slug")
        )


class Evaluation(models.Model):
    """One verdict of one policy version on one product. `current` marks the latest verdict
    per (policy, product), which the dashboard aggregates; the others are its history. A
    sweep records a verdict only when it differs from the current one, so history stays small.
    """

    class Moment(models.TextChoices):
        CHANGE = "change", "On change"
        RUN = "run", "At run time"
        SWEEP = "sweep", "Periodic sweep"

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="evaluations")
    policy_version = models.PositiveIntegerField()
    product = models.ForeignKey(
        "products.DataProduct", on_delete=models.CASCADE, related_name="evaluations"
    )
    domain = models.ForeignKey("domains.Domain", on_delete=models.CASCADE, related_name="+")
    severity = models.CharField(max_length=8, choices=Policy.Severity.choices)
    moment = models.CharField(max_length=8, choices=Moment.choices)
    passed = models.BooleanField()
    waived = models.BooleanField(default=False)  # failed, under an approved waiver
    message = models.TextField()
    run = models.ForeignKey(
        "products.Run", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    evaluated_at = models.DateTimeField()
    current = models.BooleanField(default=True)

    objects = EvaluationQuerySet.as_manager()

    class Meta:
        ordering = ["-evaluated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "product"],
                condition=models.Q(current=True),
                name="one_current_evaluation",
            )
        ]
        indexes = [
            models.Index(fields=["current", "domain"], name="evaluation_current_domain"),
            models.Index(fields=["product", "-evaluated_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.policy} on {self.product_id}: {'pass' if self.passed else 'fail'}"


class WaiverQuerySet(models.QuerySet["Waiver"]):
    def visible_to(self, user: Any) -> WaiverQuerySet:
        """Waivers of the user's domains' products; every one for the council."""
        waivers = self.select_related(
            "policy__domain", "product__domain", "requested_by", "decided_by"
        )
        if sees_everything(user):
            return waivers
        return waivers.filter(product__domain__in=Domain.objects.of_member(user))


class Waiver(models.Model):
    """A time-limited exception: a domain owner asks, the council decides; it ends by itself."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"  # approved, and its end has passed

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="waivers")
    product = models.ForeignKey(
        "products.DataProduct", on_delete=models.CASCADE, related_name="waivers"
    )
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    objects = WaiverQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"waiver of {self.policy} for {self.product_id}"


class ComplianceDay(models.Model):
    """The compliance score of one domain (or, with no domain, the whole mesh) on one day:
    the 30-day trend reads 30 rows per line instead of every verdict's history."""

    day = models.DateField()
    domain = models.ForeignKey(
        "domains.Domain", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    score = models.FloatField()  # percent, weighted by severity

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["day", "domain"], name="compliance_day_unique"),
            models.UniqueConstraint(
                fields=["day"], condition=models.Q(domain__isnull=True), name="mesh_day_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.domain_id or 'mesh'}: {self.score:.1f}"
