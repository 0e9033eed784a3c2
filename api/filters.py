"""Filtering that refuses what django-filter would otherwise ignore: an empty value, and a
yes/no filter given anything but true or false. A filter that is left out does not
filter; one that is given must mean something."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import QuerySet
from django_filters import BooleanFilter, NumberFilter
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

YES_NO = {"true", "false", "True", "False", "1", "0"}
WHOLE_NUMBER = re.compile(r"^-?\d+$")


class StrictFilterBackend(DjangoFilterBackend):
    def get_filterset(self, request: Request, queryset: QuerySet, view: Any) -> Any:
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        errors: dict[str, list[str]] = {}
        for name, declared in filterset.filters.items():
            for value in request.query_params.getlist(name):
                if value == "":
                    errors[name] = ["Empty: give a value, or leave the parameter out."]
                elif isinstance(declared, BooleanFilter) and value not in YES_NO:
                    errors[name] = [f"{value!r} is neither true nor false."]
                elif _whole(declared, queryset.model) and not WHOLE_NUMBER.match(value):
                    errors[name] = [f"{value!r} is not a whole number."]
        if errors:
            raise ValidationError(errors)
        return filterset


def _whole(declared: Any, model: type[models.Model]) -> bool:
    """Whether a number filter is on an integer field (so 2.5 means nothing)."""
    if not isinstance(declared, NumberFilter):
        return False
    try:
        for part in declared.field_name.split("__"):
            field = model._meta.get_field(part)
            model = field.related_model or model
    except FieldDoesNotExist:
        return False
    return isinstance(field, models.IntegerField | models.AutoField | models.ForeignKey)
