"""Who is told about an organisation is who may see it (one decision, in
``systems.authorization``)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from oversight.models import Notification
from oversight.notifications import notify, people_in_scope
from systems.authorization import visible_organisations
from systems.models import IntegratedCareBoard, Role, Succession, Trust
from systems.services import grant_role, revoke_role


def _person(name: str):
    return get_user_model().objects.create(username=name, email=f"{name}@example.org")


@pytest.mark.django_db
def test_a_revoked_role_stops_notifications(reference_data):
    user = _person("was-national")
    revoke_role(assignment=grant_role(user=user, role=Role.NATIONAL, actor="test"), actor="test")
    london = IntegratedCareBoard.objects.filter(region__name__icontains="London").first()
    grant_role(user=user, role=Role.ICB_ANALYST, icb=london, actor="test")
    trust = Trust.objects.exclude(region=london.region).first()
    assert not visible_organisations(user).filter(pk=trust.pk).exists()
    assert user not in people_in_scope(trust)


@pytest.mark.django_db
def test_a_revoked_regional_role_stops_notifications_for_that_region(reference_data):
    trust = Trust.objects.filter(icb_from_2026__isnull=False).first()
    user = _person("was-regional")
    regional = grant_role(user=user, role=Role.REGIONAL, region=trust.region, actor="test")
    assert user in people_in_scope(trust)
    revoke_role(assignment=regional, actor="test")
    assert user not in people_in_scope(trust)
    assert notify([(trust, "Segment 2 → 3", "moved")]) == len(people_in_scope(trust))
    assert not Notification.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_everyone_who_can_see_an_organisation_is_told_and_nobody_else(reference_data):
    succession = Succession.objects.filter(predecessor__kind="icb").select_related(
        "predecessor", "successor"
    )[0]
    hosted = Trust.objects.filter(icb_before_2026=succession.predecessor).first()
    people = {
        "national": grant_role(user=_person("n"), role=Role.NATIONAL, actor="test").user,
        "successor-analyst": grant_role(
            user=_person("s"),
            role=Role.ICB_ANALYST,
            icb=IntegratedCareBoard.objects.get(pk=succession.successor_id),
            actor="test",
        ).user,
        "other-analyst": grant_role(
            user=_person("o"),
            role=Role.ICB_ANALYST,
            icb=IntegratedCareBoard.objects.exclude(region=hosted.region).first(),
            actor="test",
        ).user,
    }
    inactive = grant_role(user=_person("i"), role=Role.NATIONAL, actor="test").user
    inactive.is_active = False
    inactive.save()
    told = set(people_in_scope(hosted))
    for person in [*people.values(), inactive]:
        sees = visible_organisations(person).filter(pk=hosted.pk).exists()
        assert (person in told) == sees, person.username
    assert people["successor-analyst"] in told and people["other-analyst"] not in told
