from django.urls import path

from tracing.pages import metrics, trace

app_name = "tracing"
urlpatterns = [
    path("metrics", metrics.metrics, name="metrics"),
    path("tasks/<uuid:task_id>/trace/rows/", trace.trace_rows, name="trace_rows"),
]
