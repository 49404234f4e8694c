"""REST API for data products and their contracts. Views authenticate; the services authorise.

A product the user may not see is a 404, never a 403, so restricted products do not leak.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from meshplatform.apikit import ERRORS, WRITE_ERRORS, ErrorSerializer, validated
from meshplatform.errors import PlatformError
from products import services
from products.contracts import diff_contracts
from products.filters import ProductFilter
from products.models import ContractVersion, DataProduct
from products.serializers import (
    ContractDiffSerializer,
    ContractPublishSerializer,
    ContractVersionDetailSerializer,
    ContractVersionSerializer,
    ProductCreateSerializer,
    ProductSerializer,
    ProductUpdateSerializer,
)

# What a semantic version can be made of; anything else is no version (and never reaches SQL).
VERSION_CHARS = r"[0-9A-Za-z.+-]+"
YAML_MEDIA_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
EXPORT_CONTENT_TYPES = {"yaml": "application/yaml; charset=utf-8", "json": "application/json"}
PRODUCT_PATH = [
    OpenApiParameter("domain", str, OpenApiParameter.PATH, description="Domain slug."),
    OpenApiParameter("product", str, OpenApiParameter.PATH, description="Product slug."),
]
VERSION_PATH = OpenApiParameter("version", str, OpenApiParameter.PATH)


class DocumentTooLarge(PlatformError):
    code = "too_large"
    http_status = 413


def visible_product(request: Request, domain: str, product: str) -> DataProduct:
    return get_object_or_404(DataProduct.objects.addressed(request.user, domain, product))


@extend_schema(tags=["products"])
class ProductList(generics.ListAPIView):
    """The products you can see; restricted ones only to their domain, governance and admins."""

    serializer_class = ProductSerializer
    filterset_class = ProductFilter

    def get_queryset(self) -> QuerySet[DataProduct]:
        return DataProduct.objects.visible_to(self.request.user).for_listing()

    @extend_schema(
        request=ProductCreateSerializer, responses={201: ProductSerializer, **WRITE_ERRORS}
    )
    def post(self, request: Request) -> Response:
        """Register a draft product in a domain (its engineers and owners)."""
        data = validated(ProductCreateSerializer, request.data)
        product = services.register_product(actor=request.user, **data)
        product = visible_product(request, product.domain.slug, product.slug)
        body = ProductSerializer(product, context=self.get_serializer_context()).data
        return Response(body, status=201, headers={"Location": body["url"]})


@extend_schema(tags=["products"], parameters=PRODUCT_PATH)
class ProductDetail(generics.RetrieveAPIView):
    serializer_class = ProductSerializer

    def get_object(self) -> DataProduct:
        return visible_product(self.request, self.kwargs["domain"], self.kwargs["product"])

    @extend_schema(
        request=ProductUpdateSerializer, responses={200: ProductSerializer, **WRITE_ERRORS}
    )
    def patch(self, request: Request, domain: str, product: str) -> Response:
        """Change descriptive fields and the lifecycle status, all or nothing."""
        changes = validated(ProductUpdateSerializer, request.data)
        services.change_product(product=self.get_object(), actor=request.user, **changes)
        body = ProductSerializer(self.get_object(), context=self.get_serializer_context()).data
        return Response(body)


class YamlDocumentParser(BaseParser):
    """Accepts a raw YAML contract as text; parsing it is the contract engine's job."""

    media_type = "application/yaml"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return stream.read().decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("The document must be UTF-8 text.") from None


class XYamlDocumentParser(YamlDocumentParser):
    media_type = "application/x-yaml"


class TextYamlDocumentParser(YamlDocumentParser):
    media_type = "text/yaml"


def raw_body(request: Request) -> bytes:
    """The body as sent; read before `request.data` so it stays available afterwards."""
    try:
        return request.body
    except RequestDataTooBig:
        raise DocumentTooLarge("The request body is too large.") from None


def submitted_document(request: Request) -> str:
    """The contract text from `{"document": "..."}` or from the raw YAML or JSON body."""
    body = raw_body(request)
    data = request.data  # picks a parser: 415 for a content type not accepted here
    if isinstance(data, dict) and (not data or "document" in data):
        return str(validated(ContractPublishSerializer, data)["document"])
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise serializers.ValidationError(
            {"document": "The document must be UTF-8 text."}
        ) from None


@extend_schema(tags=["contracts"], parameters=PRODUCT_PATH)
class ContractList(generics.ListAPIView):
    """The product's published contract versions, newest first."""

    serializer_class = ContractVersionSerializer
    parser_classes = [JSONParser, YamlDocumentParser, XYamlDocumentParser, TextYamlDocumentParser]

    def get_queryset(self) -> QuerySet[ContractVersion]:
        if getattr(self, "swagger_fake_view", False):
            return ContractVersion.objects.none()
        product = visible_product(self.request, self.kwargs["domain"], self.kwargs["product"])
        return (
            ContractVersion.objects.filter(product=product)
            .select_related("product__domain", "published_by")
            .defer("document", "normalized")
        )

    @extend_schema(
        request={
            "application/json": ContractPublishSerializer,
            **dict.fromkeys(YAML_MEDIA_TYPES, OpenApiTypes.STR),
        },
        responses={
            201: ContractVersionDetailSerializer,
            **WRITE_ERRORS,
            409: OpenApiResponse(
                ErrorSerializer,
                description="A breaking change without a major version bump (code "
                "breaking_change, with the breaking `changes`), or a version already published.",
            ),
            413: ErrorSerializer,
        },
        description='Publish a new version: `{"document": "..."}`, or the ODCS document '
        "itself as the body (YAML or JSON), which is stored verbatim.",
    )
    def post(self, request: Request, domain: str, product: str) -> Response:
        data_product = visible_product(request, domain, product)
        version = services.publish_contract(
            product=data_product, document=submitted_document(request), actor=request.user
        )
        version = ContractVersion.objects.select_related("product__domain", "published_by").get(
            pk=version.pk
        )
        body = ContractVersionDetailSerializer(version, context=self.get_serializer_context()).data
        return Response(body, status=201, headers={"Location": body["url"]})


class OdcsRenderer(JSONRenderer):
    """`?format=odcs`: the stored document text as it is; errors still render as JSON."""

    format = "odcs"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if isinstance(data, str):
            return data.encode("utf-8")
        return super().render(data, accepted_media_type, renderer_context)


class ExportNegotiation(DefaultContentNegotiation):
    """`?format=odcs` is the stored document in its own format, whatever the Accept header."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        if request.query_params.get(api_settings.URL_FORMAT_OVERRIDE) == OdcsRenderer.format:
            renderer = next(r for r in renderers if isinstance(r, OdcsRenderer))
            return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)


@extend_schema(tags=["contracts"], parameters=[*PRODUCT_PATH, VERSION_PATH])
class ContractDetail(generics.RetrieveAPIView):
    serializer_class = ContractVersionDetailSerializer
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, OdcsRenderer]
    content_negotiation_class = ExportNegotiation

    def get_object(self) -> ContractVersion:
        product = visible_product(self.request, self.kwargs["domain"], self.kwargs["product"])
        return get_object_or_404(
            ContractVersion.objects.select_related("product__domain", "published_by"),
            product=product,
            version=self.kwargs["version"],
        )

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=["odcs"],
                description="`odcs`: the stored document byte for byte, as YAML or JSON.",
            )
        ],
        responses={
            (200, "application/json"): ContractVersionDetailSerializer,
            (200, "application/yaml"): OpenApiTypes.STR,
            **ERRORS,
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A published version with its normalized form and its changes against the one before."""
        if request.accepted_renderer.format != OdcsRenderer.format:
            return super().get(request, *args, **kwargs)
        version = self.get_object()
        content_type = EXPORT_CONTENT_TYPES[version.document_format]
        return Response(version.document, content_type=content_type)


@extend_schema(tags=["contracts"], parameters=PRODUCT_PATH)
class ContractDiff(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, required=True, description="A published version."),
            OpenApiParameter("to", str, required=True, description="A published version."),
        ],
        responses={200: ContractDiffSerializer, **ERRORS},
    )
    def get(self, request: Request, domain: str, product: str) -> Response:
        """Every change between two published versions, each marked breaking or not."""
        data_product = visible_product(request, domain, product)
        wanted = {name: request.query_params.get(name, "") for name in ("from", "to")}
        missing = [name for name, version in wanted.items() if not version]
        if missing:
            raise serializers.ValidationError(
                dict.fromkeys(missing, "This query parameter is required.")
            )
        if not all(re.fullmatch(VERSION_CHARS, version) for version in wanted.values()):
            raise Http404
        versions = {
            name: get_object_or_404(
                ContractVersion.objects.defer("document"), product=data_product, version=version
            )
            for name, version in wanted.items()
        }
        changes = diff_contracts(versions["from"].normalized, versions["to"].normalized)
        return Response(
            ContractDiffSerializer(
                {
                    "from": wanted["from"],
                    "to": wanted["to"],
                    "breaking": any(change.breaking for change in changes),
                    "changes": [change.as_dict() for change in changes],
                }
            ).data
        )
