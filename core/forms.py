"""Helpers for the product's forms."""

from __future__ import annotations

from django import forms


def form_problems(form: forms.Form) -> list[str]:
    """Every problem in a bound form, each named by its field's label."""
    out: list[str] = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = (field.label if field else None) or name.replace("_", " ").capitalize()
        required = str(field.error_messages.get("required", "")) if field else ""
        out += [
            str(error) if name == "__all__" or str(error) == required else f"{label}: {error}"
            for error in errors
        ]
    return out


DJANGO_REQUIRED = forms.Field.default_error_messages["required"]


class ServiceForm(forms.Form):
    """A form whose empty required fields say what to do in the service's words ("Enter
    the reason", "Choose the services") instead of Django's "This field is required."."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for field in self.fields.values():
            if str(field.error_messages.get("required")) != str(DJANGO_REQUIRED):
                continue
            label = str(field.label or "a value").rstrip(".:?")
            verb = (
                "Choose" if isinstance(field, forms.ChoiceField | forms.BooleanField) else "Enter"
            )
            if isinstance(field, forms.FileField):
                verb = "Choose"
            field.error_messages["required"] = f"{verb} {_lower_first(label)}."


def _lower_first(text: str) -> str:
    """'Reason' → 'the reason', but 'ICB' and 'NHS' keep their capitals and a label that
    has its own article keeps it."""
    first = text.split(" ", 1)[0]
    lowered = text if first.isupper() else text[:1].lower() + text[1:]
    if lowered.split(" ", 1)[0] in ("a", "an", "the", "your", "which", "how"):
        return lowered
    return "the " + lowered
