"""Shared argument handling for the role and token commands."""

from __future__ import annotations

from django.core.management.base import CommandError

from systems.models import IntegratedCareBoard, Region, Role


def add_scope_arguments(parser) -> None:
    parser.add_argument("--role", required=True, choices=Role.values)
    parser.add_argument("--region", default="", help="Region ODS code (regional role), e.g. Y56.")
    parser.add_argument("--icb", default="", help="ICB ODS code (ICB analyst), e.g. QMM.")


def resolve_scope(region: str, icb: str) -> tuple[Region | None, IntegratedCareBoard | None]:
    found_region = found_icb = None
    if region:
        found_region = Region.objects.filter(ods_code=region.upper()).first()
        if found_region is None:
            raise CommandError(f"No region has the ODS code '{region}'.")
    if icb:
        found_icb = IntegratedCareBoard.objects.filter(code=icb.upper()).first()
        if found_icb is None:
            raise CommandError(f"No ICB has the ODS code '{icb}'.")
    return found_region, found_icb
