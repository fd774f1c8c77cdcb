from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from approvals.live import request_listener_register
        from notifications import email_notices, pagerduty, slack_cards, webhook_notices
        from notifications.dispatch import alert_transition_dispatch, request_event_dispatch
        from tracing.alerts.services import alert_listener_register

        # Importing the sender modules registers what sends each kind of notice.
        del email_notices, pagerduty, slack_cards, webhook_notices
        request_listener_register(request_event_dispatch)
        alert_listener_register(alert_transition_dispatch)
