"""Argument handling shared by the oversight commands."""

from django.core.management.base import CommandError

from oversight.models import ReportingPeriod, period_slug


def get_period(key: str) -> ReportingPeriod:
    try:
        slug = period_slug(key)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    try:
        return ReportingPeriod.objects.select_related("methodology", "current_run").get(slug=slug)
    except ReportingPeriod.DoesNotExist:
        known = ", ".join(ReportingPeriod.objects.values_list("label", flat=True)) or "none"
        raise CommandError(
            f"No reporting period '{key}'. Known periods: {known}. "
            "Periods are loaded by `manage.py load_methodologies`."
        ) from None
