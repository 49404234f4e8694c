"""Portal forms for policies and waivers; the services check and authorise."""

from __future__ import annotations

import json
from typing import Any

import yaml
from django import forms

from governance.models import Policy
from governance.policy.engine import TARGET_KINDS
from meshplatform.errors import Invalid
from meshplatform.forms import ServiceForm
from products.contracts.loading import load_document

RULE_HELP = (
    "YAML or JSON: a built-in check (builtin: max_retention, then params: {days: 365}) or a "
    'CEL expression over the product view ({"cel": "size(product.tags) > 0"}).'
)


class PolicyForm(ServiceForm):
    field_aliases = {"rule.cel": "rule", "rule.builtin": "rule", "target.kind": "target_kind",
                     "target.values": "target_values"}  # fmt: skip

    slug = forms.SlugField(max_length=63)
    scope = forms.ChoiceField(label="Applies to", help_text="The whole mesh, or one domain.")
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="Why it exists and how to comply."
    )
    severity = forms.ChoiceField(choices=Policy.Severity.choices)
    target_kind = forms.ChoiceField(
        label="Which products", choices=[(kind, kind) for kind in TARGET_KINDS]
    )
    target_values = forms.CharField(
        label="Tags, classifications or domains", required=False,
        help_text="Comma-separated; empty for all products.",
    )  # fmt: skip
    rule = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), help_text=RULE_HELP)
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, scopes: list[tuple[str, str]], editing: bool = False,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        scope = self.fields["scope"]
        assert isinstance(scope, forms.ChoiceField)
        scope.choices = scopes
        if editing:  # a policy's name and scope are what it is: they do not change
            del self.fields["slug"], self.fields["scope"]

    def clean_rule(self) -> Any:
        text = self.cleaned_data["rule"]
        try:
            document, _ = load_document(text)  # hostile YAML is refused here
        except Invalid as error:
            raise forms.ValidationError(error.message) from error
        return document

    def policy_values(self) -> dict[str, Any]:
        """What the policy services take from this form (after `is_valid`)."""
        data = self.cleaned_data
        return {
            "title": data["title"], "description": data["description"],
            "severity": data["severity"], "target": self.target(), "rule": data["rule"],
            "enabled": data["enabled"],
        }  # fmt: skip

    def target(self) -> dict[str, Any]:
        kind = self.cleaned_data["target_kind"]
        values = [v.strip() for v in self.cleaned_data["target_values"].split(",") if v.strip()]
        return {"kind": "all"} if kind == "all" else {"kind": kind, "values": values}

    @staticmethod
    def initial_for(policy: Policy) -> dict[str, Any]:
        return {
            "title": policy.title, "description": policy.description,
            "severity": policy.severity, "target_kind": policy.target.get("kind", "all"),
            "target_values": ", ".join(policy.target.get("values", [])),
            "rule": yaml.safe_dump(policy.rule, sort_keys=False).strip()
            if "builtin" in policy.rule else json.dumps(policy.rule),
            "enabled": policy.enabled,
        }  # fmt: skip


class WaiverForm(ServiceForm):
    field_aliases = {"until": "until"}

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    until = forms.DateField(
        label="Until", widget=forms.DateInput(attrs={"type": "date"}),
        help_text="At most 180 days from today.",
    )  # fmt: skip
