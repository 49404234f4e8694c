"""Portal forms for the catalog, registering products and publishing contracts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django import forms

from domains.models import Domain
from meshplatform.forms import ServiceForm
from products.contracts import MAX_DOCUMENT_BYTES
from products.models import Classification, DataProduct, Status, Tag


class DomainChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.slug})"


class CatalogFilterForm(forms.Form):
    """The catalog's search box and filters, as select boxes. Every field is optional; the
    filtering itself is the API's `ProductFilter`, so both search alike."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Words in a product's name, title or description",
                "autocomplete": "off",
            }
        ),
    )
    domain = DomainChoiceField(
        Domain.objects.all(), to_field_name="slug", required=False, empty_label="All domains"
    )
    tag = forms.ModelChoiceField(
        Tag.objects.all(), to_field_name="name", required=False, empty_label="All tags"
    )
    status = forms.ChoiceField(choices=[("", "Any status"), *Status.choices], required=False)
    classification = forms.ChoiceField(
        choices=[("", "Any classification"), *Classification.choices], required=False
    )

    def __init__(self, data: Any, *, user: Any) -> None:
        super().__init__(data)
        # Only tags of products this user can see: a tag can give a restricted product away.
        visible = DataProduct.objects.visible_to(user).values("pk")
        tag_field = cast(forms.ModelChoiceField, self.fields["tag"])
        tag_field.queryset = Tag.objects.filter(products__in=visible).distinct()

    def is_filtered(self) -> bool:
        return any(self.data.get(name) for name in self.fields)


class ProductForm(ServiceForm):
    # Any domain validates, so that the service (not the form) refuses someone who may not
    # register there; the select only offers the domains where the user can.
    domain = forms.ModelChoiceField(Domain.objects.all(), to_field_name="slug")
    slug = forms.SlugField(
        max_length=63,
        help_text="Its address within the domain: lower case letters, digits and hyphens.",
    )
    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    classification = forms.ChoiceField(
        choices=Classification.choices,
        initial=Classification.INTERNAL,
        help_text="Restricted products are only visible to the domain's members and governance.",
    )
    tags = forms.CharField(
        required=False,
        max_length=500,
        help_text="Comma-separated, e.g. finance, orders.",
    )

    def __init__(self, *args: Any, domains: Iterable[Domain] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offered = list(domains)
        self.fields["domain"].widget.choices = [
            ("", "Choose a domain"),
            *((domain.slug, f"{domain.name} ({domain.slug})") for domain in offered),
        ]
        if len(offered) == 1 and not self.is_bound and not self.initial.get("domain"):
            self.initial["domain"] = offered[0].slug

    def clean_tags(self) -> list[str]:
        return [tag.strip() for tag in self.cleaned_data["tags"].split(",") if tag.strip()]


class ContractForm(forms.Form):
    document = forms.CharField(
        label="Contract document",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 22, "spellcheck": "false", "class": "code"}),
        help_text="Paste an ODCS v3 contract in YAML or JSON.",
    )
    file = forms.FileField(
        label="…or upload a file",
        required=False,
        help_text="A .yaml, .yml or .json file of at most 1 MiB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".yaml,.yml,.json"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload:
            if upload.size > MAX_DOCUMENT_BYTES:
                self.add_error("file", "The file is larger than 1 MiB.")
                return data
            try:
                data["document"] = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                self.add_error("file", "The file is not UTF-8 text.")
                return data
        if not (data.get("document") or "").strip():
            self.add_error("document", "Paste a contract here or choose a file below.")
        return data


class DiffForm(forms.Form):
    """Two versions of one product's contract; `from` is a keyword, hence the set-up."""

    def __init__(self, *args: Any, versions: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(version, version) for version in versions]
        self.fields["from"] = forms.ChoiceField(choices=choices, label="From version")
        self.fields["to"] = forms.ChoiceField(choices=choices, label="To version")


class AccessRequestForm(ServiceForm):
    """Ask to read an output port; the service checks the port, purpose and end date."""

    port = forms.ChoiceField(label="Output port")
    purpose = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What you need the data for; the product's owners read this to decide.",
    )
    requested_until = forms.DateTimeField(
        label="Until (optional)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="When you will no longer need it.",
    )

    def __init__(self, *args: Any, ports: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = list(ports)
        cast(forms.ChoiceField, self.fields["port"]).choices = [(name, name) for name in names]
        if len(names) == 1:
            self.initial.setdefault("port", names[0])


class AccessDecisionForm(ServiceForm):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("deny", "Deny")])
    clearance = forms.ChoiceField(
        choices=Classification.choices,
        required=False,
        help_text="Fields classified above it are masked for this consumer.",
    )
    expires_at = forms.DateTimeField(
        label="Until",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    note = forms.CharField(max_length=500, required=False)


class GrantRenewForm(ServiceForm):
    expires_at = forms.DateTimeField(
        label="New end",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Empty: no end.",
    )
