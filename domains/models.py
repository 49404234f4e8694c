"""Who: domains and the people in them, with their role."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ENGINEER = "engineer", "Engineer"
    VIEWER = "viewer", "Viewer"


GOVERNANCE_GROUP = "governance"


class DomainQuerySet(models.QuerySet["Domain"]):
    def visible_to(self, user: object) -> DomainQuerySet:
        """Domains are discoverable by every signed-in user; their products are scoped."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self

    def of_member(self, user: Any) -> DomainQuerySet:
        """The domains `user` belongs to, whatever their role."""
        return self.filter(memberships__user=user)


class Domain(models.Model):
    """A business domain that owns data products; its owners manage its members."""

    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DomainQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain__slug", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["domain", "user"], name="one_membership_per_domain")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.domain} as {self.role}"
