"""Helpers for the product's forms."""

from __future__ import annotations

from django import forms


def form_problems(form: forms.Form) -> list[str]:
    """Every problem in a bound form, each named by its field's label."""
    out: list[str] = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = (field.label if field else None) or name.replace("_", " ").capitalize()
        out += [str(error) if name == "__all__" else f"{label}: {error}" for error in errors]
    return out
