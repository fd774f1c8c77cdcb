"""`manage.py simulator`: the OpenAI-compatible scenario player and the demo tools."""

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from simulator.scenarios import BUILTIN_FOLDER, ScenarioError, scenarios_load
from simulator.server import SimulatorApp


class Command(BaseCommand):
    help = "Serve the model simulator (POST /v1/chat/completions) and the demo tools (POST /tools/...)."

    def add_arguments(self, parser: CommandParser) -> None:
        default_port = urlsplit(settings.SIMULATOR_URL).port or 8765
        parser.add_argument("--port", type=int, default=default_port, help="default: SIMULATOR_URL's port")
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args: Any, **options: Any) -> None:
        folders = [BUILTIN_FOLDER, *(Path(folder) for folder in settings.SIM_SCENARIOS)]
        try:
            scenarios = scenarios_load(folders=folders)
        except ScenarioError as exc:
            raise CommandError(str(exc)) from exc
        host, port = options["host"], options["port"]
        names = ", ".join(sorted(scenarios))
        self.stdout.write(f"Simulator on http://{host}:{port} with {len(scenarios)} scenarios: {names}")
        # One process: the per-conversation error counts and the demo refunds live in it.
        uvicorn.run(
            SimulatorApp(scenarios=scenarios),
            host=host,
            port=port,
            lifespan="off",
            access_log=False,
            log_level="warning",
        )
