from django.contrib import admin

from meshplatform.admin import ReadOnlyAdmin
from products.models import ContractVersion, DataProduct


@admin.register(DataProduct)
class DataProductAdmin(ReadOnlyAdmin):
    list_display = ["slug", "domain", "title", "classification", "status"]
    list_filter = ["status", "classification", "domain"]
    search_fields = ["slug", "title"]


@admin.register(ContractVersion)
class ContractVersionAdmin(ReadOnlyAdmin):
    list_display = ["product", "version", "contract_id", "published_at"]
    search_fields = ["contract_id"]
