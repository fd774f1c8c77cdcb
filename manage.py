#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings.dev")
    if os.environ["DJANGO_SETTINGS_MODULE"] != "console.settings.production":
        # Development: any command (`up`, `migrate`, `createtoken`, …) starts the embedded
        # PostgreSQL and Redis that no DATABASE_URL / REDIS_URL names, before settings read them.
        from console import embedded

        embedded.services_start()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
