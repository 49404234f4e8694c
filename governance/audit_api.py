"""REST API for the audit log: the list and the export. Views authenticate; the audit module
scopes, filters and authorises, as it does for the portal."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from governance.audit import MOMENT_HELP, EventFilter, export_response, visible_events
from governance.audit_serializers import AuditEventSerializer
from governance.models import AuditEvent
from meshplatform.api import Pagination
from meshplatform.apikit import ERRORS, FirstRenderer

FILTERS = [
    OpenApiParameter("actor", str, description="Username of whoever made the change."),
    OpenApiParameter("domain", str, description="Domain slug."),
    OpenApiParameter("action", str, description="An action, such as `product.updated`."),
    OpenApiParameter("since", str, description=f"From (inclusive): {MOMENT_HELP}."),
    OpenApiParameter("until", str, description=f"To (inclusive): {MOMENT_HELP}."),
]


@extend_schema_view(
    get=extend_schema(
        parameters=FILTERS, responses={200: AuditEventSerializer(many=True), **ERRORS}
    )
)
@extend_schema(tags=["audit"])
class AuditEventList(generics.ListAPIView):
    """Newest first: every event for the council and admins, else those of your domains."""

    serializer_class = AuditEventSerializer
    pagination_class = Pagination
    filter_backends = []  # the audit module's filter, the one the portal page uses

    def get_queryset(self) -> QuerySet[AuditEvent]:
        if getattr(self, "swagger_fake_view", False):
            return AuditEvent.objects.none()
        event_filter = EventFilter.from_query(self.request.query_params)  # Invalid -> 400
        return event_filter.apply(visible_events(self.request.user)).order_by("-id")


@extend_schema(tags=["audit"])
class AuditExport(APIView):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = FirstRenderer

    @extend_schema(
        parameters=FILTERS,
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR, **ERRORS},
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        """The events the filters select, oldest first, as JSON lines: every hashed field and
        the hash, for `mesh audit verify --export`. Council members and admins only."""
        return export_response(actor=request.user, query=request.query_params)
