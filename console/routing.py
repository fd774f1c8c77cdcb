from django.urls import URLPattern

# Live channels (the approval queue, growing traces) register their consumers here.
websocket_urlpatterns: list[URLPattern] = []
