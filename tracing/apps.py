import logging
from typing import Any

from django.apps import AppConfig


class TracingConfig(AppConfig):
    name = "tracing"

    def ready(self) -> None:
        from celery.signals import after_setup_logger, after_setup_task_logger, worker_init

        worker_init.connect(_metrics_clear_at_worker_start, weak=False)
        # A Celery worker replaces the root logger's handlers with its own: give them the
        # console's format and the task context too.
        after_setup_logger.connect(_celery_log_format, weak=False)
        after_setup_task_logger.connect(_celery_log_format, weak=False)


def _metrics_clear_at_worker_start(**_kwargs: Any) -> None:
    # Files left by processes of an earlier run would otherwise be summed into every scrape.
    from django.conf import settings

    from tracing.metrics import metrics_files_clear

    metrics_files_clear(settings.PROMETHEUS_MULTIPROC_DIR)


def _celery_log_format(logger: logging.Logger, **_kwargs: Any) -> None:
    from django.conf import settings

    from tracing.logs import ContextFilter, JsonFormatter

    config: dict[str, Any] = settings.LOGGING
    console = config.get("handlers", {}).get("console", {})
    if console.get("formatter") != "json":
        return
    for handler in logger.handlers:
        handler.setFormatter(JsonFormatter())
        handler.addFilter(ContextFilter())
