from django.urls import path

from approvals.pages import policy, queue

app_name = "approvals"
urlpatterns = [
    path("", queue.queue, name="queue"),
    path("<uuid:request_id>/context/", queue.context, name="context"),
    path("<uuid:request_id>/decide/", queue.decide, name="decide"),
    path("<uuid:request_id>/outcome/", queue.outcome, name="outcome"),
    path("policy/", policy.rules, name="rules"),
    path("policy/<int:rule_id>/delete/", policy.rule_delete, name="rule_delete"),
    path("tools/", policy.tools, name="tools"),
    path("tools/<int:tool_id>/compensation/", policy.tool_compensation, name="tool_compensation"),
    path("dry-run/", policy.dry_run, name="dry_run"),
]
