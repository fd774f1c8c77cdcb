from typing import Any

from django.apps import AppConfig


class TracingConfig(AppConfig):
    name = "tracing"

    def ready(self) -> None:
        from celery.signals import worker_init

        worker_init.connect(_metrics_clear_at_worker_start, weak=False)


def _metrics_clear_at_worker_start(**_kwargs: Any) -> None:
    # A worker's counters start from zero; files left by the previous run would be summed in.
    from django.conf import settings

    from tracing.metrics import metrics_files_clear

    metrics_files_clear(settings.PROMETHEUS_MULTIPROC_DIR)
