from django.urls import URLPattern, path

from approvals.routing import websocket_urlpatterns as approvals_websockets
from tracing.consumers import TraceConsumer

# Live channels (the approval queue, growing traces) register their consumers here.
websocket_urlpatterns: list[URLPattern] = [
    path("ws/tasks/<uuid:task_id>/trace/", TraceConsumer.as_asgi()),
    *approvals_websockets,
]
