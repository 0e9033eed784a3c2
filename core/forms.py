"""Helpers for the product's forms."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms


def form_problems(form: forms.Form) -> list[str]:
    """Every problem in a bound form, each named by its field's label."""
    out: list[str] = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = (field.label if field else None) or name.replace("_", " ").capitalize()
        required = str(field.error_messages.get("required", "")) if field else ""
        out += [
            str(error)
            if name == "__all__" or str(error) == required or str(error).startswith(str(label))
            else f"{label}: {error}"
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
    if first.lower() in ("a", "an", "the", "your", "which", "how"):
        return first.lower() + text[len(first) :]
    lowered = text if first.isupper() else text[:1].lower() + text[1:]
    return "the " + lowered


class DateInputWidget(forms.MultiWidget):
    """The NHS.UK date input: day, month and year in three boxes (``<name>_day``,
    ``<name>_month``, ``<name>_year``). A single ``<name>`` value as YYYY-MM-DD is also
    read, for scripts."""

    template_name = "_date_input.html"

    def __init__(self) -> None:
        number = {"inputmode": "numeric"}
        super().__init__(
            {
                "day": forms.TextInput(number),
                "month": forms.TextInput(number),
                "year": forms.TextInput(number),
            }
        )

    def decompress(self, value: object) -> list[object]:
        if isinstance(value, datetime.date):
            return [value.day, value.month, value.year]
        if isinstance(value, str) and value:
            try:
                day = datetime.date.fromisoformat(value)
            except ValueError:
                return [None, None, None]
            return [day.day, day.month, day.year]
        return [None, None, None]

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        if name in data and not any(f"{name}_{part}" in data for part in ("day", "month", "year")):
            return data.get(name)  # YYYY-MM-DD, checked by the field
        return super().value_from_datadict(data, files, name)


class DateField(forms.MultiValueField):
    """A date entered as day, month and year, refused with a message that says what to
    write when it is not a real date ("31 2 2027" is not)."""

    widget = DateInputWidget

    def __init__(self, **kwargs: Any) -> None:
        parts = (
            forms.IntegerField(min_value=1, max_value=31),
            forms.IntegerField(min_value=1, max_value=12),
            forms.IntegerField(min_value=1900, max_value=2100),
        )
        super().__init__(fields=parts, require_all_fields=False, **kwargs)

    def clean(self, value: Any) -> datetime.date | None:
        label = str(self.label or "The date").rstrip(".:?")
        if isinstance(value, str):  # one YYYY-MM-DD value (scripts)
            if not value.strip():
                value = None
            else:
                try:
                    return datetime.date.fromisoformat(value.strip())
                except ValueError as exc:
                    raise forms.ValidationError(
                        f"{label} must be a real date, for example 4 1 2027."
                    ) from exc
        parts = [str(v).strip() if v is not None else "" for v in (value or [None] * 3)]
        if not any(parts):
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return None
        missing = [n for n, p in zip(("day", "month", "year"), parts, strict=True) if not p]
        if missing:
            raise forms.ValidationError(f"{label} must include a {' and '.join(missing)}.")
        try:
            day, month, year = (int(p) for p in parts)
            return datetime.date(year, month, day)
        except ValueError as exc:
            raise forms.ValidationError(
                f"{label} must be a real date, for example 4 1 2027."
            ) from exc

    def compress(self, data_list: list[Any]) -> Any:  # clean() does the work
        return data_list
