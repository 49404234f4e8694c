from django.contrib import admin

from products.models import ContractVersion, DataProduct


@admin.register(DataProduct)
class DataProductAdmin(admin.ModelAdmin):
    """Read-only: products change through the portal, the API or `mesh apply`, which audit."""

    list_display = ["slug", "domain", "title", "classification", "status"]
    list_filter = ["status", "classification", "domain"]
    search_fields = ["slug", "title"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(ContractVersion)
class ContractVersionAdmin(DataProductAdmin):
    list_display = ["product", "version", "contract_id", "published_at"]
    list_filter = []
    search_fields = ["contract_id"]
