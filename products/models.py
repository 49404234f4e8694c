"""What: data products, their ports and their versioned, immutable contracts."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from domains.models import Domain, Membership
from domains.permissions import sees_everything
from meshplatform.errors import Invalid


class Classification(models.TextChoices):
    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    CONFIDENTIAL = "confidential", "Confidential"
    RESTRICTED = "restricted", "Restricted"  # declared in rising order of sensitivity


def classification_rank(value: str) -> int:
    """0 for public up to 3 for restricted, in the order the choices are declared."""
    return Classification.values.index(value)


def check_classification(value: str, field: str = "classification") -> str:
    """`value` if it names a classification (a product's, or a grant's clearance)."""
    if value not in Classification.values:
        raise Invalid(
            f"Unknown {field} '{value}'.",
            fields={field: f"One of {', '.join(Classification.values)}."},
        )
    return value


# Auto-grant hands out access unasked, so only for products anyone could be cleared for.
AUTO_GRANT_CLASSIFICATIONS = (Classification.PUBLIC, Classification.INTERNAL)


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    DEPRECATED = "deprecated", "Deprecated"
    RETIRED = "retired", "Retired"


LEGAL_TRANSITIONS: dict[str, set[str]] = {
    Status.DRAFT: {Status.ACTIVE, Status.RETIRED},
    Status.ACTIVE: {Status.DEPRECATED},
    Status.DEPRECATED: {Status.ACTIVE, Status.RETIRED},
    Status.RETIRED: set(),
}


def status_path(start: str, goal: str) -> list[str]:
    """The shortest legal sequence of statuses after `start` that reaches `goal` ([] if none)."""
    paths: dict[str, list[str]] = {start: []}
    frontier = [start]
    while frontier:
        current = frontier.pop(0)
        for nxt in sorted(LEGAL_TRANSITIONS[current]):
            if nxt not in paths:
                paths[nxt] = [*paths[current], nxt]
                frontier.append(nxt)
    return paths.get(goal, []) if goal != start else []


class Provisioning(models.TextChoices):
    NONE = "none", "Not provisioned"
    PENDING = "pending", "Provisioning"
    READY = "ready", "Provisioned"
    FAILED = "failed", "Provisioning failed"
    STOPPED = "stopped", "Stopped (retired)"


class Tag(models.Model):
    name = models.SlugField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DataProductQuerySet(models.QuerySet["DataProduct"]):
    def visible_to(self, user: Any) -> DataProductQuerySet:
        """Everyone signed in discovers non-restricted products; restricted ones only
        their domain's members, the governance council and admins."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if sees_everything(user):
            return self
        member_of = Membership.objects.filter(user=user).values("domain_id")
        return self.filter(~Q(classification=Classification.RESTRICTED) | Q(domain__in=member_of))

    def addressed(self, user: Any, domain: str, product: str) -> DataProductQuerySet:
        """The product at `domain/product` if `user` may see it (empty otherwise), for pages
        and API alike: hidden and missing look the same, so nothing leaks."""
        return self.visible_to(user).for_listing().filter(domain__slug=domain, slug=product)

    def may_read(self, address: str) -> DataProductQuerySet:
        """Products whose pipeline mentions `address`: a cheap narrowing by the quoted text;
        parsing each candidate's spec decides whether it really reads that product."""
        return self.filter(pipeline__icontains=f'"{address}"')

    def for_listing(self) -> DataProductQuerySet:
        # Lists never show a contract's text, which can be a megabyte per product.
        return (
            self.select_related("domain", "owner", "current_contract")
            .defer(
                "current_contract__document",
                "current_contract__normalized",
                "current_contract__changes",
            )
            .prefetch_related("tags")
        )


class DataProduct(models.Model):
    """A dataset a domain publishes as a product, addressed as `domain/product`."""

    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="products")
    slug = models.SlugField(max_length=63)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="products")
    classification = models.CharField(
        max_length=16, choices=Classification.choices, default=Classification.INTERNAL
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    current_contract = models.OneToOneField(
        "ContractVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The pipeline spec as declared (checked by meshplatform.pipeline.spec); null: none yet.
    pipeline = models.JSONField(null=True, blank=True)
    provisioning = models.CharField(
        max_length=16, choices=Provisioning.choices, default=Provisioning.NONE
    )
    provisioning_error = models.TextField(blank=True)
    provisioned_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)  # the cron's next fire time
    maintenance_until = models.DateTimeField(null=True, blank=True)  # compaction's lease
    stopped_at = models.DateTimeField(null=True, blank=True)  # retired: runs stopped, data kept
    # Access requests are granted at once (public and internal products only: products.access).
    auto_grant = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DataProductQuerySet.as_manager()

    class Meta:
        ordering = ["domain__slug", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["domain", "slug"], name="product_slug_unique_in_domain")
        ]
        indexes = [
            models.Index(fields=["status"]),
            models.Index(fields=["classification"]),
            models.Index(fields=["next_run_at"]),
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def address(self) -> str:
        return f"{self.domain.slug}/{self.slug}"

    @property
    def may_auto_grant(self) -> bool:
        """Only products anyone could be cleared for may hand out access unasked."""
        return self.classification in AUTO_GRANT_CLASSIFICATIONS

    def can_transition_to(self, status: str) -> bool:
        return status in LEGAL_TRANSITIONS[self.status]

    def can_be_activated(self) -> bool:
        return self.current_contract_id is not None


class Port(models.Model):
    """Where data comes from (input) or what the product serves (output, a managed table)."""

    class Direction(models.TextChoices):
        INPUT = "input", "Input"
        OUTPUT = "output", "Output"

    product = models.ForeignKey(DataProduct, on_delete=models.CASCADE, related_name="ports")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    name = models.SlugField(max_length=63)
    description = models.TextField(blank=True)
    contract_id = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["direction", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "direction", "name"], name="port_name_unique_in_product"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product}:{self.name}"


class ContractVersion(models.Model):
    """One published version of a product's ODCS contract. Never changed after publishing:
    the submitted document is kept verbatim, with a normalised form for queries and diffs."""

    product = models.ForeignKey(DataProduct, on_delete=models.PROTECT, related_name="contracts")
    contract_id = models.CharField(max_length=200)
    version = models.CharField(max_length=64)
    major = models.PositiveIntegerField()
    minor = models.PositiveIntegerField()
    patch = models.PositiveIntegerField()
    api_version = models.CharField(max_length=16)
    document = models.TextField()
    document_format = models.CharField(max_length=8)
    sha256 = models.CharField(max_length=64)
    normalized = models.JSONField()
    changes = models.JSONField(default=list)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-major", "-minor", "-patch", "-published_at"]
        constraints = [
            models.UniqueConstraint(fields=["product", "version"], name="contract_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.version}"

    @property
    def breaking_changes(self) -> list[dict[str, Any]]:
        return [change for change in self.changes if change.get("breaking")]


class Connection(models.Model):
    """A domain's named connection to a source system; the URL (with its secret) encrypted.

    `url_encrypted` is a Fernet token (meshplatform.secrets); `display` is the URL with its
    password removed, the only form ever shown back.
    """

    class Kind(models.TextChoices):
        POSTGRES = "postgres", "PostgreSQL"
        REDIS = "redis", "Redis"

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="connections")
    name = models.SlugField(max_length=63)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    url_encrypted = models.TextField()
    display = models.CharField(max_length=500)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["domain__slug", "name"]
        constraints = [
            models.UniqueConstraint(fields=["domain", "name"], name="connection_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.domain.slug}:{self.name}"


class RunQuerySet(models.QuerySet["Run"]):
    def visible_to(self, user: Any) -> RunQuerySet:
        return self.filter(product__in=DataProduct.objects.visible_to(user))

    def active(self) -> RunQuerySet:
        return self.filter(status__in=Run.ACTIVE)


class Run(models.Model):
    """One execution of a product's pipeline; its state lives here, updated stage by stage."""

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Run now"
        SCHEDULE = "schedule", "Schedule"
        UPSTREAM = "upstream", "Upstream publish"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"  # a problem the product's team must fix: not retried
        ERRORED = "errored", "Errored"  # ours or transient, after its retries
        HELD = "held", "Held"  # checked, but dataset rules or policies held it unpublished

    class Stage(models.TextChoices):
        QUEUED = "queued", "Queued"
        EXTRACT = "extract", "Extract"
        TRANSFORM = "transform", "Transform"
        VALIDATE = "validate", "Validate"
        QUARANTINE = "quarantine", "Quarantine"
        PUBLISH = "publish", "Publish"
        LINEAGE = "lineage", "Lineage"
        DONE = "done", "Done"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    product = models.ForeignKey(DataProduct, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    upstream_run = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="downstream"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    follow_up = models.BooleanField(default=False)  # an upstream published while this ran
    rows_read = models.BigIntegerField(default=0)
    rows_written = models.BigIntegerField(default=0)
    rows_quarantined = models.BigIntegerField(default=0)
    output_version = models.BigIntegerField(null=True, blank=True)
    watermark_from = models.JSONField(default=dict)
    watermark = models.JSONField(default=dict)
    inputs = models.JSONField(default=dict)  # per input, what this run read (files, version)
    stages = models.JSONField(default=list)  # [{name, started_at, finished_at, rows}]
    quality = models.JSONField(default=dict)  # the enforcement engine's RunReport
    quarantine_sample = models.JSONField(default=list)  # up to 20 rows, sensitive values hashed
    error = models.TextField(blank=True)
    trace_id = models.CharField(max_length=32, blank=True)
    queue = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # the worker's last sign of life

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One run per product at a time, whatever triggers them and however many workers.
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_run_per_product",
            )
        ]
        indexes = [models.Index(fields=["product", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.product_id}#{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class AccessRequest(models.Model):
    """A consumer asking to read one output port of a product, for a stated purpose."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        CANCELLED = "cancelled", "Cancelled"

    product = models.ForeignKey(
        DataProduct, on_delete=models.CASCADE, related_name="access_requests"
    )
    port = models.SlugField(max_length=63)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_requests"
    )
    purpose = models.CharField(max_length=500)
    requested_until = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open request per consumer and port: asking twice adds nothing to decide.
            models.UniqueConstraint(
                fields=["product", "port", "requester"],
                condition=Q(status="requested"),
                name="one_open_access_request",
            )
        ]
        indexes = [models.Index(fields=["product", "status"])]

    def __str__(self) -> str:
        return f"{self.product_id}:{self.port} for {self.requester_id}"


class GrantQuerySet(models.QuerySet["Grant"]):
    def active(self, now: Any) -> GrantQuerySet:
        """Grants in force at `now`: not revoked, not expired (an expiry needs no job)."""
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )


class Grant(models.Model):
    """A consumer's right to read one output port; fields classified above `clearance` are
    masked when they read. Revoked or expired grants stay as history."""

    product = models.ForeignKey(DataProduct, on_delete=models.CASCADE, related_name="grants")
    port = models.SlugField(max_length=63)
    consumer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grants"
    )
    clearance = models.CharField(max_length=16, choices=Classification.choices)
    granted_by = models.ForeignKey(  # null: granted automatically
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    automatic = models.BooleanField(default=False)
    request = models.ForeignKey(
        AccessRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="grants"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = GrantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One grant in force per consumer and port; an expired one is replaced by the
            # services (products.access), which lock the product row while they do.
            models.UniqueConstraint(
                fields=["product", "port", "consumer"],
                condition=Q(revoked_at__isnull=True),
                name="one_unrevoked_grant",
            )
        ]
        indexes = [models.Index(fields=["consumer", "product"])]

    def __str__(self) -> str:
        return f"{self.product_id}:{self.port} to {self.consumer_id}"

    def is_active(self, now: Any) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class NotificationQuerySet(models.QuerySet["Notification"]):
    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """A message in a person's portal inbox (a breaking contract version, for now)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    text = models.CharField(max_length=500)
    link = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.text[:50]}"
