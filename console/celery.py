import os

from celery import Celery

from console import pool_threads  # noqa: F401  (connects the worker's start-up hook)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings.dev")

app = Celery("tollgate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
