"""Error pages: the JSON envelope under /api/, the portal's templates elsewhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        body = {"code": "not_found", "message": "No such resource."}
        return JsonResponse({"error": body}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        body = {"code": "server_error", "message": "Internal error; it has been logged."}
        return JsonResponse({"error": body}, status=500)
    return defaults.server_error(request)
