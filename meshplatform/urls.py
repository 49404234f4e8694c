from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from meshplatform import health, operate
from meshplatform.tokens import RevokeTokenView, TokenView

api_v1: list[URLPattern | URLResolver] = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("auth/logout/", RevokeTokenView.as_view(), name="api-logout"),
    path("", include("domains.api_urls")),
    path("", include("products.api_urls")),
    path("", include("governance.api_urls")),
    path("", include("governance.audit_api_urls")),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("operate/", operate.operate, name="operate"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("products.urls")),
    path("", include("domains.urls")),
    path("", include("governance.urls")),
]

handler404 = "meshplatform.errorpages.not_found"
handler500 = "meshplatform.errorpages.server_error"
