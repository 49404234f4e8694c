from django.urls import path, re_path

from products import access_api, api, run_api

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
    path(f"{product}pipeline/", run_api.PipelineDetail.as_view(), name="api-pipeline"),
    path(f"{product}runs/", run_api.RunList.as_view(), name="api-run-list"),
    path(f"{product}runs/<int:run>/", run_api.RunDetail.as_view(), name="api-run-detail"),
    path(
        f"{product}runs/<int:run>/quarantine/",
        run_api.RunQuarantine.as_view(),
        name="api-run-quarantine",
    ),
    path(f"{product}versions/", run_api.VersionList.as_view(), name="api-product-versions"),
    path(f"{product}preview/", run_api.Preview.as_view(), name="api-product-preview"),
    path(f"{product}download/", run_api.Download.as_view(), name="api-product-download"),
    path(f"{product}lineage/", run_api.Lineage.as_view(), name="api-product-lineage"),
    path(
        f"{product}access-requests/",
        access_api.AccessRequestList.as_view(),
        name="api-access-request-list",
    ),
    path(
        f"{product}access-requests/<int:pk>/",
        access_api.AccessRequestDetail.as_view(),
        name="api-access-request-detail",
    ),
    path(f"{product}grants/", access_api.GrantList.as_view(), name="api-grant-list"),
    path(
        f"{product}grants/<int:pk>/renew/", access_api.GrantRenew.as_view(), name="api-grant-renew"
    ),
    path(
        f"{product}grants/<int:pk>/revoke/",
        access_api.GrantRevoke.as_view(),
        name="api-grant-revoke",
    ),
    path("notifications/", access_api.NotificationList.as_view(), name="api-notification-list"),
    path(
        "notifications/read/", access_api.NotificationsRead.as_view(), name="api-notifications-read"
    ),
    # A domain's connections live with the pipelines that use them (products.runs).
    path(
        "domains/<slug:domain>/connections/",
        run_api.ConnectionList.as_view(),
        name="api-connection-list",
    ),
    path(
        "domains/<slug:domain>/connections/<slug:name>/",
        run_api.ConnectionDetail.as_view(),
        name="api-connection-detail",
    ),
]
