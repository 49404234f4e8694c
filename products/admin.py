from django.contrib import admin

from meshplatform.admin import ReadOnlyAdmin
from products.models import AccessRequest, ContractVersion, DataProduct, Grant


@admin.register(DataProduct)
class DataProductAdmin(ReadOnlyAdmin):
    list_display = ["slug", "domain", "title", "classification", "status"]
    list_filter = ["status", "classification", "domain"]
    search_fields = ["slug", "title"]


@admin.register(ContractVersion)
class ContractVersionAdmin(ReadOnlyAdmin):
    list_display = ["product", "version", "contract_id", "published_at"]
    search_fields = ["contract_id"]


@admin.register(AccessRequest)
class AccessRequestAdmin(ReadOnlyAdmin):
    list_display = ["product", "port", "requester", "status", "created_at", "decided_by"]
    list_filter = ["status"]


@admin.register(Grant)
class GrantAdmin(ReadOnlyAdmin):
    list_display = ["product", "port", "consumer", "clearance", "automatic", "expires_at"]
    list_filter = ["clearance", "automatic"]
