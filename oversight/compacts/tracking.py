"""Tracking commitments against runs.

After a run is published, each commitment in the compacts of that year that is tied to a
metric is evaluated against the value the run used for its organisation and what the
commitment expects by that quarter (its trajectory, else its target): on track, off track,
or not yet measurable, with why (the metric is not in that period's methodology, it is not
reported for that organisation, no value yet, or the value reported is for a period
before the compact's year). Each evaluation is kept with the run and the value, so a
commitment's history reads quarter by quarter.

A provisional run is only previewed (:func:`preview`): nothing is stored and nobody is
told. Newly off-track commitments notify the people who see the organisation (the region
and the ICB) and the accountable person when they have an account.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import F, Q

from core.dates import financial_year_bounds
from systems import audit
from systems.actors import Actor

from ..models import MetricDefinition, MetricScore, MetricValue, ReportingPeriod, SegmentationRun
from ..notifications import notify, notify_person
from .models import (
    TRACKED,
    Commitment,
    CommitmentEvaluation,
    CommitmentStatus,
    Compact,
    Direction,
    TrackStatus,
)


@dataclass(frozen=True)
class Judgement:
    status: str
    value: float | None
    expected: float | None
    reason: str


def judge(
    *,
    direction: str,
    expected: float | None,
    source: str,
    value: float | None,
    period_label: str,
) -> Judgement:
    """On or off track: ``value`` against ``expected`` (from ``source``) in the commitment's
    ``direction``. No value or nothing expected is not yet measurable."""
    if value is None:
        return Judgement(
            TrackStatus.NOT_MEASURABLE, None, expected, f"No value yet for {period_label}."
        )
    if expected is None:
        return Judgement(TrackStatus.NOT_MEASURABLE, value, None, "No target to measure against.")
    at_least = direction != Direction.AT_MOST
    met = value >= expected if at_least else value <= expected
    word = "at least" if at_least else "at most"
    return Judgement(
        TrackStatus.ON_TRACK if met else TrackStatus.OFF_TRACK,
        value,
        expected,
        f"{_num(value)} in {period_label} against {word} {_num(expected)} ({source}).",
    )


def _num(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"


def _tracked(financial_year: str, compact: Compact | None = None):
    qs = Commitment.objects.filter(
        compact__status__in=TRACKED,
        compact__financial_year=financial_year,
        status=CommitmentStatus.ACCEPTED,
    ).exclude(metric_id="")
    if compact is not None:
        qs = qs.filter(compact=compact)
    return list(qs.select_related("organisation", "compact"))


def evaluate_run(
    run: SegmentationRun, commitments: list[Commitment]
) -> list[tuple[Commitment, Judgement]]:
    """Each commitment judged against ``run`` (which must be of the commitment's year)."""
    if not commitments:
        return []
    ids = {c.metric_id for c in commitments}
    orgs = {c.organisation_id for c in commitments}
    groups_of: dict[str, set[str]] = {}  # metric id → the peer groups it is reported for
    for score_id, value_id, groups in MetricDefinition.objects.filter(
        methodology_id=run.methodology_id
    ).values_list("score_id", "value_id", "peer_groups"):
        for key in {score_id, value_id} - {""}:
            groups_of.setdefault(key, set()).update(groups or [])
    reported: dict[tuple[int, str], float | None] = {}
    value_ids: dict[str, str] = {}
    for org_id, metric_id, value_id, value in MetricScore.objects.filter(
        Q(metric_id__in=ids) | Q(value_id__in=ids), run=run, organisation_id__in=orgs
    ).values_list("organisation_id", "metric_id", "value_id", "value"):
        for key in {metric_id, value_id} & ids:
            reported[(org_id, key)] = value
        value_ids[metric_id] = value_id or metric_id
    assessed = dict(
        run.assessments.filter(organisation_id__in=orgs).values_list(
            "organisation_id", "peer_group"
        )
    )
    lag = _reported_for(run, orgs, {value_ids.get(i, i) for i in ids} | ids)
    facts = _RunFacts(run.period, groups_of, reported, value_ids, assessed, lag)
    return [(c, facts.verdict(c)) for c in commitments]


@dataclass(frozen=True)
class _RunFacts:
    """What one run holds for the commitments judged against it."""

    period: ReportingPeriod
    groups_of: dict[str, set[str]]  # metric id → the peer groups it is reported for
    reported: dict[tuple[int, str], float | None]  # (organisation, metric) → value used
    value_ids: dict[str, str]
    assessed: dict[int, str]  # organisation → its peer group in the run
    lag: dict[tuple[int, str], tuple[datetime.date, str]]

    def verdict(self, c: Commitment) -> Judgement:
        period, key = self.period, (c.organisation_id, c.metric_id)
        expected, source = c.expected_in(period.quarter)

        def unmeasurable(why: str, value: float | None = None) -> Judgement:
            return Judgement(TrackStatus.NOT_MEASURABLE, value, expected, why)

        if c.metric_id not in self.groups_of:
            return unmeasurable(f"{c.metric_id} is not in {period.label}'s methodology.")
        if c.organisation_id not in self.assessed:
            return unmeasurable(f"{c.organisation.code} was not assessed in {period.label}.")
        groups, group = self.groups_of[c.metric_id], self.assessed[c.organisation_id]
        if groups and group not in groups:
            return unmeasurable(
                f"{c.metric_id} is not reported for {c.organisation.code} (not one of the "
                f"{group} peer group's metrics)."
            )
        value = self.reported.get(key)
        if value is None:
            return unmeasurable(f"No value yet for {period.label}.")
        when = self.lag.get(
            (c.organisation_id, self.value_ids.get(c.metric_id, c.metric_id))
        ) or self.lag.get(key)
        start, _ = financial_year_bounds(c.compact.financial_year)
        if when and when[0] < start:
            label = when[1] or f"{when[0]:%d %B %Y}"
            return unmeasurable(
                f"Reporting lag: the latest value is for {label}, before "
                f"{c.compact.financial_year}.",
                value,
            )
        return judge(
            direction=c.direction,
            expected=expected,
            source=source,
            value=value,
            period_label=period.label,
        )


def _reported_for(
    run: SegmentationRun, orgs: set[int], metric_ids: set[str]
) -> dict[tuple[int, str], tuple[datetime.date, str]]:
    """The period each value the run used was reported for, where the input said."""
    qs = MetricValue.objects.filter(
        period_id=run.period_id,
        organisation_id__in=orgs,
        metric_id__in=metric_ids,
        reporting_date__isnull=False,
    )
    if run.inputs_as_at:
        qs = qs.filter(recorded_at__lte=run.inputs_as_at).filter(
            Q(superseded_at__isnull=True) | Q(superseded_at__gt=run.inputs_as_at)
        )
    else:
        qs = qs.current()
    return {
        (org, metric): (day, text)  # type: ignore[misc]  # reporting_date is not null here
        for org, metric, day, text in qs.values_list(
            "organisation_id", "metric_id", "reporting_date", "reporting_period_text"
        )
    }


def _store(run: SegmentationRun, judged: list[tuple[Commitment, Judgement]]) -> list[Commitment]:
    """Keep each judgement with the run (once); return the commitments newly off track."""
    done = set(
        CommitmentEvaluation.objects.filter(
            run=run, commitment_id__in=[c.pk for c, _ in judged]
        ).values_list("commitment_id", flat=True)
    )
    judged = [(c, j) for c, j in judged if c.pk not in done]
    previous = _latest_before(run.period, [c.pk for c, _ in judged])
    CommitmentEvaluation.objects.bulk_create(
        [
            CommitmentEvaluation(
                commitment=c,
                run=run,
                period_id=run.period_id,
                status=j.status,
                value=j.value,
                expected=j.expected,
                reason=j.reason[:300],
            )
            for c, j in judged
        ]
    )
    return [
        c
        for c, j in judged
        if j.status == TrackStatus.OFF_TRACK and previous.get(c.pk) != TrackStatus.OFF_TRACK
    ]


def _latest_before(period: ReportingPeriod, commitment_ids: list[int]) -> dict[int, str]:
    """Each commitment's status in the latest earlier period's published run."""
    found: dict[int, str] = {}
    for commitment_id, status in (
        CommitmentEvaluation.objects.filter(
            commitment_id__in=commitment_ids,
            period__start_date__lt=period.start_date,
            period__current_run=F("run"),
        )
        .order_by("commitment_id", "-period__start_date")
        .values_list("commitment_id", "status")
    ):
        found.setdefault(commitment_id, status)
    return found


def track_commitments(*, run: SegmentationRun, actor: Actor) -> int:
    """Evaluate and keep every tracked commitment of the run's year against ``run`` (a
    run being published); tell people about the newly off-track ones. Audited."""
    judged = evaluate_run(run, _tracked(run.period.financial_year))
    if not judged:
        return 0
    off = _store(run, judged)
    _tell(off, {c.pk: j for c, j in judged}, run)
    audit.record(
        actor=actor,
        action="compact.tracked",
        obj=run,
        after={
            "evaluations": len(judged),
            "off_track": [c.pk for c, j in judged if j.status == TrackStatus.OFF_TRACK],
        },
        reason=f"Commitments tracked against run {run.pk} ({run.period.label})",
    )
    return len(judged)


def track_published_runs(compact: Compact, *, actor: Actor) -> int:
    """Evaluate ``compact``'s commitments against each published run of its year not yet
    evaluated (when it is agreed, or a commitment is added to it later)."""
    count = 0
    for period in ReportingPeriod.objects.filter(
        financial_year=compact.financial_year, current_run__isnull=False
    ).select_related("current_run__period"):
        run = period.current_run
        if run is None:
            continue
        judged = evaluate_run(run, _tracked(compact.financial_year, compact))
        _store(run, judged)
        count += len(judged)
    if count:
        audit.record(
            actor=actor,
            action="compact.tracked",
            obj=compact,
            after={"evaluations": count},
            reason=f"Commitments tracked against the published runs of {compact.financial_year}",
        )
    return count


def preview(run: SegmentationRun, compact: Compact | None = None) -> dict[int, Judgement]:
    """What a provisional ``run`` would make of the tracked commitments of its year (only
    ``compact``'s, when given), by commitment id; nothing is stored."""
    return {c.pk: j for c, j in evaluate_run(run, _tracked(run.period.financial_year, compact))}


def _tell(off: list[Commitment], judged: dict[int, Judgement], run: SegmentationRun) -> None:
    notices = []
    User = get_user_model()
    for c in off:
        subject = f"Compact commitment off track: {c.title}"[:180]
        body = (
            f"{judged[c.pk].reason} {c.compact.icb.code} compact {c.compact.financial_year}; "
            f"accountable: {c.accountable_name}, {c.accountable_role}. Run {run.pk}."
        )
        notices.append((c.organisation, subject, body))
        if c.accountable_email:
            person = User.objects.filter(email__iexact=c.accountable_email, is_active=True).first()
            if person is not None:
                notify_person(person, c.organisation, subject, body)
    notify(notices)
