from django.urls import path

from evals import pages

app_name = "evals"
urlpatterns = [
    path("", pages.suite_list, name="suites"),
    path("suites/<int:suite_id>/", pages.suite_detail, name="suite"),
    path("suites/<int:suite_id>/runs/", pages.run_start, name="run_start"),
    path("runs/<uuid:run_id>/", pages.run_detail, name="run"),
    path("from-task/<uuid:task_id>/", pages.case_from_task, name="from_task"),
]
