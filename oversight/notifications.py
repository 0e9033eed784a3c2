"""Notices to people: in the product (a :class:`~oversight.models.Notification`) and by
e-mail through Django's mail backend, sent once the transaction commits.

Who is told about an organisation is who may see it, decided once by
:func:`systems.authorization.people_who_see`: a revoked role, an inactive account or a
scope that does not cover the organisation never receives a notice about it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.mail import send_mail
from django.db import transaction

from systems.authorization import people_who_see
from systems.models import Organisation

from .models import Notification

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
            rows.append(
                Notification(user=person, organisation=organisation, subject=heading, body=body)
            )
            if person.email:
                mail.append((heading, body, person.email))
    Notification.objects.bulk_create(rows, batch_size=1000)
    _send_on_commit(mail)
    return len(rows)


def notify_person(person: Any, organisation: Organisation, subject: str, body: str) -> None:
    """Tell one person (the one who raised a request, say) about ``organisation``."""
    if person is None:
        return
    heading = f"{organisation.code}: {subject}"
    Notification.objects.create(
        user=person, organisation=organisation, subject=heading[:200], body=body
    )
    if person.email:
        _send_on_commit([(heading, body, person.email)])


def _send_on_commit(mail: list[tuple[str, str, str]]) -> None:
    if mail:
        transaction.on_commit(
            lambda: [send_mail(s, b, None, [to], fail_silently=True) for s, b, to in mail]
        )
