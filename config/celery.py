"""The Celery application.

With ``CELERY_BROKER_URL`` unset, tasks run eagerly in the calling process (the embedded
default for ``make run``); with it set, they go to real workers through the broker.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("oversight")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
