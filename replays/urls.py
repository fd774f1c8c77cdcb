from django.urls import path

from replays import pages

app_name = "replays"
urlpatterns = [
    path("tasks/<uuid:task_id>/", pages.replay_start_view, name="start"),
    path("<uuid:replay_id>/", pages.replay_detail, name="replay"),
]
