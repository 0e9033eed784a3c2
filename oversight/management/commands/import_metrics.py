from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from oversight.models import UPLOAD_FORMAT_CHOICES, UploadStatus, upload_format_label
from oversight.runs import PublicationRefused, publish_run
from oversight.uploads.problems import report_csv
from oversight.uploads.services import UploadRefused, process_upload, receive_upload
from systems.actors import SystemActor


class Command(BaseCommand):
    help = (
        "Validate and store a metric file (NHS England NOF data file or our template, CSV "
        "or XLSX), then segment every period it touches. Exits non-zero with the error "
        "report when the file is invalid; nothing is stored then."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to a .csv or .xlsx file")
        parser.add_argument(
            "--format",
            choices=[c for c, _ in UPLOAD_FORMAT_CHOICES],
            default="",
            help="Check the columns against this format (default: detect it).",
        )
        parser.add_argument(
            "--no-segment", action="store_true", help="Store the values without segmenting."
        )
        parser.add_argument(
            "--report", default="", help="Also write the problem report (CSV) to this path."
        )
        parser.add_argument(
            "--publish",
            action="store_true",
            help=(
                "Publish the runs this import makes as the periods' official results (NHS "
                "England's own published file, say), with --reason."
            ),
        )
        parser.add_argument("--reason", default="", help="Why the runs are published.")

    def handle(
        self,
        *args,
        file: str,
        format: str,
        no_segment: bool,
        report: str,
        publish: bool,
        reason: str,
        **options,
    ):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            received = receive_upload(
                content=path.read_bytes(),
                filename=path.name,
                actor=SystemActor("manage.py import_metrics"),
                requested_format=format,
                via="command",
                segment=not no_segment,
                enqueue=False,
            )
        except UploadRefused as exc:
            raise CommandError(str(exc)) from exc
        if not received.created:
            earlier = received.upload
            self.stdout.write(f"{received.message} Upload {earlier.pk}: {earlier.original_name}.")
            return
        upload = process_upload(
            upload_id=received.upload.pk, actor=SystemActor("manage.py import_metrics")
        )
        if report:
            Path(report).write_text(report_csv(upload.errors + upload.warnings), encoding="utf-8")
        for warning in upload.warnings:
            self.stderr.write(f"warning: {_where(warning)}{warning['message']}")
        if upload.status == UploadStatus.INVALID:
            for error in upload.errors:
                self.stderr.write(f"error: {_where(error)}{error['message']} [{error['value']}]")
            raise CommandError(
                f"{path.name}: {upload.error_count} problem(s); nothing was stored "
                f"(upload {upload.pk})."
            )
        if upload.status == UploadStatus.FAILED:
            raise CommandError(f"Upload {upload.pk} failed: {upload.failure_reason}")
        if upload.status == UploadStatus.DUPLICATE:
            self.stdout.write(f"Same content as upload {upload.duplicate_of_id}; not imported.")
            return
        summary = upload.summary
        self.stdout.write(
            f"Upload {upload.pk}: {path.name} ({upload_format_label(upload.detected_format)}, "
            f"{upload.file_type}{', sheet ' + upload.sheet_name if upload.sheet_name else ''}): "
            f"{summary['rows']:,} rows; {summary['created']:,} new values, "
            f"{summary['superseded']:,} replaced, {summary['unchanged']:,} unchanged"
        )
        for label, count in summary["by_period"].items():
            self.stdout.write(f"  {label}: {count:,} rows")
        for run in upload.runs.select_related("period").order_by("period__start_date"):
            counts = ", ".join(
                f"segment {k}: {v}" for k, v in run.segment_counts.items() if k.isdigit()
            )
            if publish and run.state == "provisional":
                try:
                    run = publish_run(
                        run=run, actor=SystemActor("manage.py import_metrics"), reason=reason
                    )
                except PublicationRefused as exc:
                    raise CommandError(str(exc)) from exc
            self.stdout.write(f"  run {run.pk} for {run.period}: {counts} ({run.state})")
        for note in summary.get("not_segmented", []):
            self.stdout.write(f"  not segmented: {note}")


def _where(problem: dict) -> str:
    parts = [problem.get("file") or ""]
    if problem.get("sheet"):
        parts.append(f"sheet {problem['sheet']}")
    if problem.get("row"):
        parts.append(f"row {problem['row']}")
    if problem.get("column"):
        parts.append(f"column {problem['column']}")
    return ", ".join(p for p in parts if p) + ": "
