from django.urls import path, re_path

from products import api

product = "products/<slug:domain>/<slug:product>/"
product_re = r"^products/(?P<domain>[-a-zA-Z0-9_]+)/(?P<product>[-a-zA-Z0-9_]+)/"

urlpatterns = [
    path("products/", api.ProductList.as_view(), name="api-product-list"),
    path(product, api.ProductDetail.as_view(), name="api-product-detail"),
    path(f"{product}contracts/", api.ContractList.as_view(), name="api-contract-list"),
    # Before the version route: "diff" would otherwise be taken for a version.
    path(f"{product}contracts/diff/", api.ContractDiff.as_view(), name="api-contract-diff"),
    re_path(
        rf"{product_re}contracts/(?P<version>{api.VERSION_CHARS})/$",
        api.ContractDetail.as_view(),
        name="api-contract-detail",
    ),
]
