from django.contrib import admin

from domains.models import Domain, Membership
from meshplatform.admin import ReadOnlyAdmin


@admin.register(Domain)
class DomainAdmin(ReadOnlyAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["domain", "user", "role"]
    list_filter = ["role", "domain"]
