from django.urls import path

from products import views

product = "p/<slug:domain>/<slug:product>/"

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("products/new/", views.product_register, name="product-register"),
    path(product, views.product_detail, name="product-detail"),
    path(f"{product}status/", views.product_status, name="product-status"),
    path(f"{product}contracts/new/", views.contract_publish, name="contract-publish"),
    path(f"{product}contracts/<str:version>/raw/", views.contract_raw, name="contract-raw"),
    path(f"{product}diff/", views.contract_diff, name="contract-diff"),
]
