from django.urls import path

from injection.pages import detections, trust

app_name = "injection"

urlpatterns = [
    path("detections/", detections.detection_list, name="detections"),
    path("trust/", trust.trust, name="trust"),
]
