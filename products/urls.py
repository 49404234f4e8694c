from django.urls import path

from products import run_views, views

product = "p/<slug:domain>/<slug:product>/"

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("products/new/", views.product_register, name="product-register"),
    path(product, views.product_detail, name="product-detail"),
    path(f"{product}status/", views.product_status, name="product-status"),
    path(f"{product}contracts/new/", views.contract_publish, name="contract-publish"),
    path(f"{product}contracts/<str:version>/raw/", views.contract_raw, name="contract-raw"),
    path(f"{product}diff/", views.contract_diff, name="contract-diff"),
    path(f"{product}access/request/", views.access_request, name="access-request"),
    path(f"{product}access/requests/<int:pk>/", views.access_decide, name="access-decide"),
    path(f"{product}access/requests/<int:pk>/cancel/", views.access_cancel, name="access-cancel"),
    path(f"{product}access/grants/<int:pk>/renew/", views.grant_renew, name="grant-renew"),
    path(f"{product}access/grants/<int:pk>/revoke/", views.grant_revoke, name="grant-revoke"),
    path(f"{product}access/auto-grant/", views.auto_grant, name="auto-grant"),
    path("access/", views.my_access, name="my-access"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
    path(f"{product}runs/", run_views.product_runs, name="product-runs"),
    path(f"{product}runs/new/", run_views.run_trigger, name="run-trigger"),
    path(f"{product}runs/<int:run>/", run_views.run_detail, name="run-detail"),
    path(f"{product}runs/<int:run>/progress/", run_views.run_progress, name="run-progress"),
    path(f"{product}data/", run_views.product_data, name="product-data"),
    path(f"{product}data/download.<str:fmt>", run_views.data_download, name="data-download"),
    path(f"{product}pipeline/", run_views.pipeline_edit, name="pipeline-edit"),
    path(f"{product}lineage/", run_views.product_lineage, name="product-lineage"),
    # Before the domains' own pages, which are included after these.
    path("domains/<slug:slug>/connections/", run_views.connections, name="domain-connections"),
    path(
        "domains/<slug:slug>/connections/<slug:name>/delete/",
        run_views.connection_delete,
        name="connection-delete",
    ),
]
