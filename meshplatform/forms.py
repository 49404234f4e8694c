"""Form plumbing shared by the portal's apps."""

from __future__ import annotations

from django import forms

from meshplatform.errors import PlatformError


class ServiceForm(forms.Form):
    """A form that can show a service's PlatformError: its message above the form, each of
    its `fields` next to the form field it names (or above, when the form has no such field)."""

    field_aliases: dict[str, str] = {}

    def add_platform_error(self, exc: PlatformError) -> None:
        self.add_error(None, exc.message)
        for name, message in exc.fields.items():
            field = self.field_aliases.get(name, name)
            if field in self.fields:
                self.add_error(field, message)
            else:
                self.add_error(None, f"{name}: {message}")
