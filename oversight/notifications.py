"""Notices to people: in the product (a :class:`~oversight.models.Notification`, read on
the notifications page) and by e-mail through Django's mail backend, as each person
chooses (:class:`~oversight.models.NotificationSettings`): each notice as it happens
(sent once the transaction commits), a daily digest (``send_daily_digests``, by Celery
beat), or none.

Who is told about an organisation is who may see it, decided once by
:func:`systems.authorization.people_who_see`: a revoked role, an inactive account or a
scope that does not cover the organisation never receives a notice about it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from systems.authorization import people_who_see
from systems.models import Organisation

from .models import EmailChoice, Notification, NotificationSettings

# One notice: the organisation it is about, a subject and a body.
Notice = tuple[Organisation, str, str]


def people_in_scope(organisation: Organisation) -> list[Any]:
    """The people told about ``organisation``: everyone who may see it."""
    return list(people_who_see(organisation))


def notify(notices: Iterable[Notice]) -> int:
    """Tell everyone in scope of each notice's organisation; returns the notices written.

    A notice a person already has (same organisation, subject and text) is not sent again:
    re-publishing an unchanged position tells nobody anything twice.
    """
    notices = list(notices)
    audience: dict[int, list[Any]] = {}
    rows = []
    mail = []
    already = set(
        Notification.objects.filter(
            organisation__in=[o for o, _, _ in notices],
            subject__in=[f"{o.code}: {subject}" for o, subject, _ in notices],
        ).values_list("user_id", "organisation_id", "subject", "body")
    )
    for organisation, subject, body in notices:
        people = audience.get(organisation.pk)
        if people is None:
            people = audience[organisation.pk] = people_in_scope(organisation)
        heading = f"{organisation.code}: {subject}"
        for person in people:
            if (person.pk, organisation.pk, heading, body) in already:
                continue
            already.add((person.pk, organisation.pk, heading, body))
            at_once = _at_once(person)
            rows.append(
                Notification(
                    user=person,
                    organisation=organisation,
                    subject=heading[:200],
                    body=body,
                    emailed_at=timezone.now() if at_once else None,
                )
            )
            if at_once:
                mail.append((heading, body, person.email))
    Notification.objects.bulk_create(rows, batch_size=1000)
    _send_on_commit(mail)
    return len(rows)


def email_choice(person: Any) -> str:
    """How ``person`` wants notices by e-mail (a daily digest unless they chose)."""
    chosen = NotificationSettings.objects.filter(user=person).values_list("email", flat=True)
    return next(iter(chosen), EmailChoice.DAILY)


def _at_once(person: Any) -> bool:
    return bool(person.email) and email_choice(person) == EmailChoice.IMMEDIATELY


def notify_person(person: Any, organisation: Organisation, subject: str, body: str) -> None:
    """Tell one person (the one who raised a request, say) about ``organisation``."""
    if person is None:
        return
    heading = f"{organisation.code}: {subject}"
    at_once = _at_once(person)
    Notification.objects.create(
        user=person,
        organisation=organisation,
        subject=heading[:200],
        body=body,
        emailed_at=timezone.now() if at_once else None,
    )
    if at_once:
        _send_on_commit([(heading, body, person.email)])


def notify_uploader(person: Any, subject: str, body: str, link: str) -> None:
    """Tell the person who uploaded a file how it ended, linking to the upload."""
    if person is None:
        return
    at_once = _at_once(person)
    Notification.objects.create(
        user=person,
        subject=subject[:200],
        body=body,
        link=link,
        emailed_at=timezone.now() if at_once else None,
    )
    if at_once:
        _send_on_commit([(subject, f"{body}\n\n{settings.SITE_URL}{link}", person.email)])


def send_daily_digests() -> int:
    """One e-mail to each person who chose the daily digest, listing their notices not yet
    e-mailed; returns the e-mails sent. Each notice goes out once (``emailed_at``)."""
    waiting = (
        Notification.objects.filter(emailed_at__isnull=True, user__is_active=True)
        .exclude(user__email="")
        .exclude(
            user__notification_settings__email__in=[EmailChoice.NEVER, EmailChoice.IMMEDIATELY]
        )
        .select_related("user")
        .order_by("user_id", "created_at")
    )
    by_person: dict[int, list[Notification]] = {}
    for notice in waiting:
        by_person.setdefault(notice.user_id, []).append(notice)
    sent = 0
    for notices in by_person.values():
        person = notices[0].user
        with transaction.atomic():
            updated = Notification.objects.filter(
                pk__in=[n.pk for n in notices], emailed_at__isnull=True
            ).update(emailed_at=timezone.now())
            if updated != len(notices):  # another digest took some: leave them to it
                transaction.set_rollback(True)
                continue
            send_mail(_digest_subject(len(notices)), _digest_body(notices), None, [person.email])
        sent += 1
    return sent


def _digest_subject(count: int) -> str:
    return f"{settings.SITE_NAME}: {count} new notice{'s' if count != 1 else ''}"


def _digest_body(notices: list[Notification]) -> str:
    lines = [
        f"{len(notices)} new notice{'s' if len(notices) != 1 else ''} since the last e-mail:",
        "",
    ]
    for notice in notices:
        lines += [f"- {notice.subject}", f"  {notice.body}".rstrip(), ""]
    lines.append(f"Read them all: {settings.SITE_URL}{reverse('notifications:inbox')}")
    lines.append(f"Choose how you are told: {settings.SITE_URL}{reverse('notifications:settings')}")
    return "\n".join(lines)


def _send_on_commit(mail: list[tuple[str, str, str]]) -> None:
    if mail:
        transaction.on_commit(
            lambda: [send_mail(s, b, None, [to], fail_silently=True) for s, b, to in mail]
        )
