"""Display text for uploads, so templates hold no logic."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import MetricUpload, UploadStatus, upload_format_label
from .services import is_stalled

TAGS = {
    UploadStatus.RECEIVED: ("Received", "grey"),
    UploadStatus.VALIDATING: ("Validating", "blue"),
    UploadStatus.IMPORTED: ("Imported", "aqua"),
    UploadStatus.RECOMPUTING: ("Recomputing", "blue"),
    UploadStatus.DONE: ("Done", "green"),
    UploadStatus.INVALID: ("Rejected", "red"),
    UploadStatus.DUPLICATE: ("Already imported", "grey"),
    UploadStatus.FAILED: ("Failed", "red"),
}

STEPS = [
    (UploadStatus.RECEIVED, "Received"),
    (UploadStatus.VALIDATING, "Validating"),
    (UploadStatus.IMPORTED, "Imported"),
    (UploadStatus.RECOMPUTING, "Recomputing"),
    (UploadStatus.DONE, "Done"),
]


# The problems table on the page lists at most this many (the report lists more).
SHOWN_ERRORS = 500


@dataclass
class Step:
    label: str
    state: str  # done, current, failed, todo
    detail: str = ""  # why it stopped there (a rejected, failed or repeated upload)


@dataclass
class UploadPresenter:
    upload: MetricUpload
    # The upload this one repeated, when the viewer may open it (never another's upload).
    earlier_visible: bool = False

    @property
    def tag_label(self) -> str:
        if self.stalled:
            return "Stalled"
        return TAGS[self.upload.status][0]

    @property
    def tag_class(self) -> str:
        colour = "orange" if self.stalled else TAGS[self.upload.status][1]
        return f"nhsuk-tag nhsuk-tag--{colour}"

    @property
    def stalled(self) -> bool:
        return is_stalled(self.upload)

    @property
    def can_retry(self) -> bool:
        return self.upload.status == UploadStatus.FAILED or self.stalled

    @property
    def polling(self) -> bool:
        return self.upload.in_progress and not self.stalled

    @property
    def steps(self) -> list[Step]:
        """The stages in order: done, the current one (in progress), or the one where a
        rejected or failed upload stopped, marked failed, with what that means."""
        order = [s for s, _ in STEPS]
        upload = self.upload
        status = upload.status
        stopped, detail = None, ""
        if status == UploadStatus.INVALID:
            stopped, detail = UploadStatus.VALIDATING, "rejected, nothing stored"
        elif status == UploadStatus.FAILED:
            if upload.imported_at:
                stopped = UploadStatus.RECOMPUTING
                detail = "failed; the values were stored, the previous results stay current"
            elif upload.detected_format:
                # Checked (the format is recorded after validation), so storing failed.
                stopped, detail = UploadStatus.IMPORTED, "failed, nothing stored"
            else:
                stopped, detail = UploadStatus.VALIDATING, "failed, nothing stored"
        if stopped is not None:
            at = order.index(stopped)
            return [
                Step(label, "failed", detail)
                if i == at
                else Step(label, "done" if i < at else "todo")
                for i, (_, label) in enumerate(STEPS)
            ]
        if status == UploadStatus.DUPLICATE:
            at = order.index(UploadStatus.IMPORTED)
            earlier = upload.duplicate_of_id
            return [
                Step(
                    label,
                    "done" if i < at else "todo",
                    "not imported again (same content as an earlier upload)"
                    if i == at and earlier
                    else "",
                )
                for i, (_, label) in enumerate(STEPS)
            ]
        reached = order.index(status) if status in order else order.index(UploadStatus.VALIDATING)
        finished = status == UploadStatus.DONE
        return [
            Step(
                label, "done" if i < reached or finished else "current" if i == reached else "todo"
            )
            for i, (_, label) in enumerate(STEPS)
        ]

    @property
    def format_label(self) -> str:
        fmt = self.upload.detected_format or self.upload.requested_format
        return upload_format_label(self.upload.detected_format) if fmt else "Not yet known"

    @property
    def read_from(self) -> str:
        u = self.upload
        parts = [u.file_type.upper()] if u.file_type else []
        if u.sheet_name:
            parts.append(f"sheet '{u.sheet_name}'")
        if u.encoding:
            parts.append(u.encoding.upper())
        return ", ".join(parts) or "Not yet read"

    @property
    def shown_errors(self) -> list[dict]:
        return self.upload.errors[:SHOWN_ERRORS]

    @property
    def more_errors(self) -> int:
        """Problems found but not in the table (counted by kind below it)."""
        return max(0, self.upload.error_count - len(self.shown_errors))

    @property
    def kinds_not_all_listed(self) -> list[dict]:
        """Each kind of problem with some not in the table: its count and how many of it
        are left out."""
        if not self.more_errors:
            return []
        kinds = self.upload.error_kinds or [
            {"column": "", "message": "Further problems", "count": self.upload.error_count}
        ]
        left = []
        remaining = len(self.shown_errors)
        for kind in kinds:
            listed = min(kind.get("listed", 0), remaining)
            remaining -= listed
            if kind["count"] > listed:
                left.append({**kind, "not_listed": kind["count"] - listed})
        return left

    @property
    def summary_rows(self) -> list[tuple[str, str]]:
        s = self.upload.summary or {}
        rows = []
        if "rows" in s:
            rows.append(("Rows stored", f"{s['rows']:,}"))
            rows.append(
                (
                    "New values / replaced / unchanged",
                    f"{s.get('created', 0):,} / {s.get('superseded', 0):,} / "
                    f"{s.get('unchanged', 0):,}",
                )
            )
        for label, count in (s.get("by_period") or {}).items():
            rows.append((f"Rows for {label}", f"{count:,}"))
        for note in s.get("not_segmented") or []:
            rows.append(("Not segmented", note))
        return rows
