from django.contrib import admin
from django.urls import include, path

from console.api import api
from tracing.ingest.views import otlp_traces

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("v1/traces", otlp_traces, name="otlp-traces"),
    path("approvals/", include("approvals.urls")),
    path("guards/", include("agents.guards.urls")),
    path("injection/", include("injection.urls")),
    path("notifications/", include("notifications.urls")),
    path("replays/", include("replays.urls")),
    path("evals/", include("evals.urls")),
    path("", include("console.pages.urls")),
    path("", include("tracing.pages.urls")),
]
