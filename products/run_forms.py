"""Portal forms for pipelines and connections: the spec as YAML, a connection's settings."""

from __future__ import annotations

from typing import Any

import yaml
from django import forms

from meshplatform.errors import PlatformError
from meshplatform.forms import ServiceForm
from products.contracts.loading import DocumentInvalid, load_document
from products.models import Connection

PIPELINE_EXAMPLE = """\
inputs:
  - name: orders
    files: {path: "sales/orders-*.csv", format: csv}
transform: select * from orders where amount >= 0
load: {mode: append}
schedule: {manual: true}
"""


def pipeline_text(pipeline: Any) -> str:
    """A stored spec as the YAML people edit (empty for none)."""
    if not pipeline:
        return ""
    return yaml.safe_dump(pipeline, sort_keys=False, allow_unicode=True)


class PipelineForm(ServiceForm):
    """The pipeline spec as YAML or JSON text; empty removes the pipeline."""

    spec = forms.CharField(
        label="Pipeline spec",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 20, "spellcheck": "false", "class": "code"}),
        help_text="YAML or JSON: inputs, an optional SQL transform, load and schedule. "
        "Leave it empty to remove the pipeline.",
    )

    def clean_spec(self) -> dict[str, Any] | None:
        text = self.cleaned_data["spec"]
        if not text.strip():
            return None
        try:
            document, _ = load_document(text)
        except DocumentInvalid as exc:
            raise forms.ValidationError(
                [exc.message, *(f"{path}: {message}" for path, message in exc.fields.items())]
            ) from exc
        return document

    def add_platform_error(self, exc: PlatformError) -> None:
        # Every path in a spec is inside the one text field: show each one next to it.
        self.add_error(None, exc.message)
        for path, message in exc.fields.items():
            self.add_error("spec", f"{path}: {message}")


class ConnectionForm(ServiceForm):
    """Add or replace a named connection. The URL is write-only: never rendered back."""

    name = forms.SlugField(
        max_length=63, help_text="What pipeline specs call it, e.g. sales-db. Lower case."
    )
    kind = forms.ChoiceField(choices=Connection.Kind.choices)
    url = forms.CharField(
        label="URL",
        max_length=2000,
        strip=True,
        # render_value=False: a form shown again after an error must not echo the secret.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="With its password, e.g. postgresql://user:password@host:5432/db. "
        "Stored encrypted; only the URL without its password is shown.",
    )
