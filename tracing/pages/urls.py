from django.urls import path

from tracing.pages import alerts, costs, metrics, reports, trace

app_name = "tracing"
urlpatterns = [
    path("metrics", metrics.metrics, name="metrics"),
    path("tasks/<uuid:task_id>/trace/rows/", trace.trace_rows, name="trace_rows"),
    path("costs/", costs.cost_overview, name="costs"),
    path("reports/daily/", reports.report_daily, name="report_daily"),
    path("reports/daily.csv", reports.report_daily_csv, name="report_daily_csv"),
    path("alerts/", alerts.alert_list, name="alerts"),
    path("alerts/rules/<str:kind>/", alerts.alert_rule_edit, name="alert_rule"),
]
