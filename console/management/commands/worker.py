"""`manage.py worker`: the Celery worker of WORKER_PROCESSES processes (console/worker_group.py)."""

import os
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from console.worker_group import worker_group_run


class Command(BaseCommand):
    help = (
        "Run the Celery worker: WORKER_PROCESSES processes forked from one that loaded everything, "
        "each running its share of WORKER_CONCURRENCY steps on threads."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--processes",
            type=int,
            default=settings.WORKER_PROCESSES,
            help="processes (default WORKER_PROCESSES: one per core)",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=settings.CELERY_WORKER_CONCURRENCY,
            help="steps the worker runs at once, shared out among its processes (default WORKER_CONCURRENCY)",
        )
        parser.add_argument("--queue", "-Q", default=settings.CELERY_TASK_DEFAULT_QUEUE)
        parser.add_argument("--loglevel", default="INFO")

    def handle(
        self, *args: Any, processes: int, concurrency: int, queue: str, loglevel: str, **options: Any
    ) -> None:
        if processes < 1 or concurrency < processes:
            raise CommandError("--processes must be at least 1 and --concurrency at least --processes")
        # A worker serves no pages, and in debug mode Django keeps the text of every SQL
        # statement each thread's connection sends (up to 9,000 each, parameters composed in:
        # whole conversations), which Celery warns is a leak. So the worker never runs in it,
        # whichever settings module started it: not this process and its forks, nor a process
        # the supervisor starts afresh to replace one that died (it reads the environment).
        settings.DEBUG = False
        os.environ["DJANGO_DEBUG"] = "false"
        # This process becomes the worker's supervisor (a bare interpreter) and exits with its code.
        worker_group_run(processes=processes, concurrency=concurrency, queue=queue, loglevel=loglevel)
