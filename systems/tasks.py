from celery import shared_task

from .models import Organisation, Region


@shared_task
def count_organisations() -> dict[str, int]:
    """A small read-only task: proves a worker reaches the database through the broker."""
    return {
        "regions": Region.objects.count(),
        "icbs": Organisation.objects.filter(kind="icb").count(),
        "trusts": Organisation.objects.filter(kind="trust").count(),
    }
