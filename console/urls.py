from django.contrib import admin
from django.urls import include, path

from console.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("approvals/", include("approvals.urls")),
    path("guards/", include("agents.guards.urls")),
    path("injection/", include("injection.urls")),
    path("notifications/", include("notifications.urls")),
    path("", include("console.pages.urls")),
    path("", include("tracing.pages.urls")),
]
