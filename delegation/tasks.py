from celery import shared_task

from systems.actors import SystemActor

from .services import advance_agreements as advance


@shared_task
def advance_agreements() -> dict[str, int]:
    """Daily: agreements whose year has begun come into force; those whose year is over end."""
    return advance(actor=SystemActor("celery: advance_agreements"))
