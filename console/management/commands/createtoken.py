"""`manage.py createtoken USERNAME [--name NAME]`: a REST API token, printed once."""

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from console.tokens import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user and print it. Only its hash is stored: copy it now."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="what the token is for (default: cli)")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user named {username!r}")
        if not name.strip() or len(name) > 100:
            raise CommandError("--name must be 1 to 100 characters")
        raw, _token = api_token_create(user=user, name=name)
        # The token alone on stdout, so `TOKEN=$(manage.py createtoken alice)` works.
        self.stdout.write(raw)
        self.stderr.write(f"Token {name!r} for {username}: shown once, store it now.")
