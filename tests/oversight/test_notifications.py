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


# --- The inbox and e-mail -------------------------------------------------------------


@pytest.fixture
def regional(reference_data, client):
    trust = Trust.objects.filter(icb_from_2026__isnull=False).first()
    person = _person("director")
    grant_role(user=person, role=Role.REGIONAL, region=trust.region, actor="test")
    client.force_login(person)
    return person, trust


def test_a_notice_is_in_the_inbox_with_the_unread_count_and_a_link(client, regional):
    person, trust = regional
    notify([(trust, "Segment 2 → 3", "Moved since the last quarter.")])
    page = client.get("/notifications/").content.decode()
    assert f"{trust.code}: Segment 2 → 3" in page and "Moved since the last quarter." in page
    assert '<span class="notice-count">1' in page
    notice = Notification.objects.get(user=person)
    opened = client.post(f"/notifications/{notice.pk}/read/", {"open": "1"})
    assert opened["Location"] == f"/organisations/{trust.code}/"
    notice.refresh_from_db()
    assert notice.read_at is not None
    assert 'class="notice-count"' not in client.get("/notifications/").content.decode()


def test_mark_all_as_read_and_only_ones_own(client, regional, django_user_model):
    person, trust = regional
    notify([(trust, "A", "a"), (trust, "B", "b")])
    someone = _person("someone")
    theirs = Notification.objects.create(user=someone, subject="theirs")
    assert client.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    client.post("/notifications/read-all/")
    assert not Notification.objects.filter(user=person, read_at__isnull=True).exists()
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_an_unchanged_position_is_not_told_twice(regional):
    person, trust = regional
    notify([(trust, "Segment 3", "Unchanged")])
    notify([(trust, "Segment 3", "Unchanged")])
    assert Notification.objects.filter(user=person).count() == 1


def test_immediately_means_one_e_mail_per_notice(
    client, regional, mailoutbox, django_capture_on_commit_callbacks
):
    person, trust = regional
    client.post("/notifications/settings/", {"email": "immediately"})
    with django_capture_on_commit_callbacks(execute=True):
        notify([(trust, "Segment 2 → 3", "Moved.")])
    assert [m.to for m in mailoutbox] == [[person.email]]
    assert mailoutbox[0].subject == f"{trust.code}: Segment 2 → 3"
    from oversight.notifications import send_daily_digests

    assert send_daily_digests() == 0  # already e-mailed


def test_the_daily_digest_sends_each_notice_once(regional, mailoutbox):
    from oversight.notifications import send_daily_digests

    person, trust = regional
    notify([(trust, "Segment 2 → 3", "Moved."), (trust, "Freedom at risk", "Review.")])
    assert mailoutbox == []  # the default is the daily digest
    assert send_daily_digests() == 1
    [digest] = mailoutbox
    assert digest.to == [person.email] and "2 new notices" in digest.subject
    assert "Segment 2 → 3" in digest.body and "/notifications/" in digest.body
    assert send_daily_digests() == 0


def test_never_means_no_e_mail_and_the_choice_is_audited(client, regional, mailoutbox):
    from oversight.notifications import send_daily_digests
    from systems.models import AuditEvent

    _, trust = regional
    answer = client.post("/notifications/settings/", {"email": "never"})
    assert answer.status_code == 302
    notify([(trust, "Segment 2 → 3", "Moved.")])
    assert send_daily_digests() == 0 and mailoutbox == []
    assert AuditEvent.objects.filter(action="notifications.email_choice").exists()
    refused = client.post("/notifications/settings/", {"email": "sometimes"})
    assert refused.status_code == 200 and "nhsuk-error-summary" in refused.content.decode()


def test_the_uploader_is_told_how_their_upload_ended(client, methodologies, settings, tmp_path):
    from oversight.uploads.services import process_upload, receive_upload
    from tests.uploads.files import template_file

    settings.MEDIA_ROOT = tmp_path
    analyst = _person("analyst")
    grant_role(
        user=analyst,
        role=Role.ICB_ANALYST,
        icb=Trust.objects.get(code="RHA").icb_from_2026,
        actor="test",
    )
    client.force_login(analyst)
    for value, outcome in (("4.8", "done"), ("lots", "rejected (1 problem; nothing stored)")):
        received = receive_upload(
            content=template_file([["RHA", "OF0082", "Q1 2025/26", value]]),
            filename=f"m-{value}.csv",
            actor=analyst,
            enqueue=False,
        )
        upload = process_upload(upload_id=received.upload.pk)
        notice = Notification.objects.filter(user=analyst).first()
        assert notice.subject == f"Upload {upload.pk} (m-{value}.csv): {outcome}"
        opened = client.post(f"/notifications/{notice.pk}/read/", {"open": "1"})
        assert opened["Location"] == f"/uploads/{upload.pk}/"
