from django.urls import path

from console.pages import agents, auth, memories, sessions, tasks, tokens

app_name = "console"
urlpatterns = [
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout, name="logout"),
    path("", sessions.session_list, name="sessions"),
    path("sessions/<uuid:session_id>/", sessions.session_detail, name="session"),
    path("sessions/<uuid:session_id>/undo/", sessions.session_undo, name="session_undo"),
    path("tasks/new/", tasks.task_new, name="task_new"),
    path("tasks/<uuid:task_id>/", tasks.task_detail, name="task"),
    path("tasks/<uuid:task_id>/live/", tasks.task_live, name="task_live"),
    path("tasks/<uuid:task_id>/cancel/", tasks.task_cancel_view, name="task_cancel"),
    path("tasks/<uuid:task_id>/spans/<int:span_pk>/<str:part>/", tasks.span_payload, name="span_payload"),
    path("agents/", agents.agent_list, name="agents"),
    path("agents/<slug:name>/", agents.agent_detail, name="agent"),
    path("agents/<slug:name>/rollout/live/", agents.agent_rollout_live, name="agent_rollout_live"),
    path("agents/<slug:name>/rollouts/", agents.agent_rollout_start, name="agent_rollout_start"),
    path(
        "agents/<slug:name>/rollouts/<int:rollout_id>/<str:action>/",
        agents.agent_rollout_end,
        name="agent_rollout_end",
    ),
    path("tokens/", tokens.token_list, name="tokens"),
    path("tokens/<int:token_id>/revoke/", tokens.token_revoke, name="token_revoke"),
    path("memories/", memories.memory_list_page, name="memories"),
    path(
        "memories/<slug:agent_name>/<int:memory_id>/delete/",
        memories.memory_delete_view,
        name="memory_delete",
    ),
]
