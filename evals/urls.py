from django.urls import path

from evals import edit_pages, pages

app_name = "evals"
urlpatterns = [
    path("", pages.suite_list, name="suites"),
    path("suites/new/", edit_pages.suite_new, name="suite_new"),
    path("suites/<int:suite_id>/", pages.suite_detail, name="suite"),
    path("suites/<int:suite_id>/edit/", edit_pages.suite_edit, name="suite_edit"),
    path("suites/<int:suite_id>/cases/new/", edit_pages.case_new, name="case_new"),
    path("cases/<int:case_id>/edit/", edit_pages.case_edit, name="case_edit"),
    path("suites/<int:suite_id>/runs/", pages.run_start, name="run_start"),
    path("runs/<uuid:run_id>/", pages.run_detail, name="run"),
    path("from-task/<uuid:task_id>/", pages.case_from_task, name="from_task"),
    # Last: a walk over the URLs in order (tests/console/test_hostile_query_strings.py) reaches
    # every other page before these take its rows away.
    path("cases/<int:case_id>/delete/", edit_pages.case_remove, name="case_delete"),
    path("suites/<int:suite_id>/delete/", edit_pages.suite_remove, name="suite_delete"),
]
