"""Rendering pages that hold tables, and showing a service's refusal on a page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from .errors import ApplicationError
from .tables import Table

T = TypeVar("T")


@dataclass
class PeriodChoice:
    """One entry of a page's period picker."""

    slug: str
    label: str
    selected: bool


def render_tables(
    request: HttpRequest, template: str, context: dict[str, Any], tables: list[Table], name: str
) -> HttpResponse:
    """Render ``template`` with ``tables`` (``context["tables"][slug]``), sorted as the
    query string asks (``?sort=column&table=slug``), or answer the download of one of
    them (``?download=slug&format=csv|xlsx``), named ``name-slug[-period]``.

    When the context holds a ``pair`` (the period shown and the periods to choose from, as
    ``current`` and ``periods``), the page also gets its period picker and query."""
    sort = request.GET.get("sort", "")
    for table in tables:
        if sort and request.GET.get("table", tables[0].slug if tables else "") == table.slug:
            table.sorted_by(sort)
    pair = context.get("pair")
    wanted = request.GET.get("download")
    if wanted:
        chosen = next((t for t in tables if t.slug == wanted), None)
        if chosen is None:
            raise Http404("No such table.")
        period = pair.current if pair else None
        suffix = f"-{period.slug}" if period else ""
        return chosen.download(request.GET.get("format", "csv"), f"{name}-{chosen.slug}{suffix}")
    context["tables"] = {t.slug: t for t in tables}
    context["period_query"] = f"period={pair.current.slug}" if pair and pair.current else ""
    if pair is not None:
        context["period_choices"] = [
            PeriodChoice(p.slug, p.label, p == pair.current) for p in pair.periods
        ]
    return render(request, template, context)


def attempt(
    request: HttpRequest, step: Callable[[], T], done: str | Callable[[T], str] | None = None
) -> T | None:
    """Run a service ``step`` for a page. A refusal (:class:`ApplicationError`) becomes the
    page's error message and gives ``None``; otherwise ``done`` (text, or text made from the
    step's result) becomes its success message and the result is returned."""
    try:
        result = step()
    except ApplicationError as exc:
        messages.error(request, str(exc))
        return None
    if done is not None:
        messages.success(request, done(result) if callable(done) else done)
    return result


def confirmation(
    request: HttpRequest,
    *,
    action: str,
    facts: list[tuple[str, str]],
    back: str,
    consequence: str = "",
) -> HttpResponse | None:
    """Before a decision that cannot be undone: a page that says what will happen and asks
    to confirm it (the same form again, with ``confirmed=yes``). ``None`` once confirmed."""
    if request.POST.get("confirmed") == "yes":
        return None
    fields = [
        (name, value)
        for name, values in request.POST.lists()
        if name not in ("csrfmiddlewaretoken", "confirmed")
        for value in values
    ]
    return render(
        request,
        "confirm.html",
        {
            "action": action,
            "facts": facts,
            "fields": fields,
            "back": back,
            "consequence": consequence,
        },
    )
