from django.contrib import admin

from governance.models import AuditEvent
from meshplatform.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "occurred_at", "actor_username", "action", "target_repr"]
    list_filter = ["action", "domain_slug"]
