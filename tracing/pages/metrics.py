from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from tracing.scrape import metrics_access_allowed, metrics_exposition


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    allowed = metrics_access_allowed(
        authorization=request.headers.get("Authorization", ""),
        remote_addr=request.META.get("REMOTE_ADDR", ""),
        token=settings.METRICS_TOKEN,
        networks=settings.METRICS_ALLOWED_NETWORKS,
    )
    if not allowed:
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    body = metrics_exposition(directory=settings.PROMETHEUS_MULTIPROC_DIR)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
