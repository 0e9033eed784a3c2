"""The notifications page: a person's notices, newest first, unread ones marked; each
links to the organisation it is about; mark one or all as read; choose how they are
e-mailed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from systems import audit

from .models import EmailChoice, Notification, NotificationSettings
from .notifications import email_choice


class SettingsForm(forms.Form):
    email = forms.ChoiceField(
        choices=EmailChoice.choices,
        widget=forms.RadioSelect,
        label="How should we e-mail you your notices?",
        error_messages={"required": "Choose how you want your notices by e-mail."},
    )


def _me(request: HttpRequest) -> Any:
    """The signed-in person (every view here requires one)."""
    return request.user


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    notices = Notification.objects.filter(user=_me(request)).select_related("organisation")
    if request.GET.get("show") == "unread":
        notices = notices.filter(read_at__isnull=True)
    page = Paginator(notices, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/inbox.html",
        {
            "page": page,
            "show": request.GET.get("show", ""),
            "choice": EmailChoice(email_choice(request.user)).label,
        },
    )


@login_required
@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    notice = get_object_or_404(Notification, pk=pk, user=_me(request))
    if notice.read_at is None:
        notice.read_at = timezone.now()
        notice.save(update_fields=["read_at"])
    if request.POST.get("open") and notice.link.startswith("/"):
        return redirect(notice.link)
    if request.POST.get("open") and notice.organisation is not None:
        return redirect("dashboards:organisation", code=notice.organisation.code)
    return redirect("notifications:inbox")


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    count = Notification.objects.filter(user=_me(request), read_at__isnull=True).update(
        read_at=timezone.now()
    )
    messages.success(request, f"{count} notice{'s' if count != 1 else ''} marked as read.")
    return redirect("notifications:inbox")


@login_required
def email_settings(request: HttpRequest) -> HttpResponse:
    current = email_choice(request.user)
    form = SettingsForm(request.POST or None, initial={"email": current})
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["email"]
        NotificationSettings.objects.update_or_create(user=_me(request), defaults={"email": chosen})
        audit.record(
            actor=request.user,
            action="notifications.email_choice",
            object_type="user",
            object_id=str(request.user.pk),
            object_repr=request.user.get_username(),
            before={"email": current},
            after={"email": chosen},
            reason="Chosen by the person",
        )
        messages.success(request, f"Saved: {EmailChoice(chosen).label.lower()}.")
        return redirect("notifications:inbox")
    return render(request, "notifications/settings.html", {"form": form})
