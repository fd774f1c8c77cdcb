from django.urls import path

from agents.guards import pages

app_name = "guards"
urlpatterns = [
    path("", pages.guards_overview, name="overview"),
    path("agents/<slug:name>/", pages.guards_agent_config, name="agent_config"),
]
