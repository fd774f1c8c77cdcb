from django.urls import path

from notifications.pages import channels, email, slack

app_name = "notifications"
urlpatterns = [
    path("slack/interactions/", slack.interactions, name="slack_interactions"),
    path("email/<str:token>/", email.email_link, name="email_link"),
    path("channels/", channels.channels, name="channels"),
    path("channels/<int:channels_id>/test/", channels.channels_test, name="channels_test"),
    path("slack-users/", channels.slack_link_save, name="slack_link_save"),
    path("slack-users/<int:link_id>/delete/", channels.slack_link_delete, name="slack_link_delete"),
]
