from celery import shared_task

from .services import advance_agreements as advance


@shared_task
def advance_agreements() -> dict[str, int]:
    """Daily: agreements whose year has begun come into force; those whose year is over end."""
    return advance(actor="celery: advance_agreements")
