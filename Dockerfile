# One image for every Tollgate process: web (default command), worker, beat, simulator, migrate.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=console.settings.production \
    TOLLGATE_STATE_DIR=/app/.tollgate

WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# The production settings require DATABASE_URL and REDIS_URL; collectstatic touches neither,
# so placeholders keep the build self-contained.
RUN DJANGO_SECRET_KEY=collectstatic-only \
    DATABASE_URL=postgresql://build@localhost/build \
    REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput

RUN useradd --create-home --uid 10001 tollgate \
    && mkdir -p "$TOLLGATE_STATE_DIR" \
    && chown tollgate "$TOLLGATE_STATE_DIR"
USER tollgate

EXPOSE 8000
# asgi_static serves /static/ itself, so one host needs nothing in front; behind a proxy or CDN
# that serves /app/staticfiles, run console.asgi:application instead (`--app`). WEB_CONCURRENCY
# sets the web server's uvicorn processes (default: the container's cores + 1), each accepting on
# a socket of its own (console/web_group.py).
CMD ["python", "manage.py", "web", "--host", "0.0.0.0", "--port", "8000", "--graceful", "20"]
