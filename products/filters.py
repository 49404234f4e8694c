"""Filters for the product list: `domain`, `tag`, `status`, `classification` and `q`."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from products.models import Classification, DataProduct, DataProductQuerySet, Status


class ProductFilter(django_filters.FilterSet):
    domain = django_filters.CharFilter(field_name="domain__slug", help_text="Domain slug.")
    tag = django_filters.CharFilter(field_name="tags__name", lookup_expr="iexact")
    status = django_filters.ChoiceFilter(choices=Status.choices)
    classification = django_filters.ChoiceFilter(choices=Classification.choices)
    q = django_filters.CharFilter(
        method="search", help_text="Words that must each appear in the slug, title or description."
    )

    class Meta:
        model = DataProduct
        fields = ["domain", "tag", "status", "classification", "q"]

    def search(self, queryset: DataProductQuerySet, name: str, value: str) -> DataProductQuerySet:
        for word in value.split():
            queryset = queryset.filter(
                Q(slug__icontains=word) | Q(title__icontains=word) | Q(description__icontains=word)
            )
        return queryset
