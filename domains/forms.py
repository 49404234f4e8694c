"""Portal forms for domains and their members. They check input; the services decide."""

from __future__ import annotations

from django import forms

from domains.models import Role
from meshplatform.forms import ServiceForm


class DomainForm(ServiceForm):
    field_aliases = {"owner": "owner_username"}

    slug = forms.SlugField(
        max_length=63,
        help_text="Short address, lower case: letters, digits and hyphens (e.g. sales).",
    )
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    owner_username = forms.CharField(
        label="First owner",
        max_length=150,
        help_text="Username of the person who will manage the domain's members.",
    )


class MemberAddForm(ServiceForm):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)
