from django.urls import include, path

from example_project.urls import urlpatterns as example_urlpatterns

from .views import CeilingView, InsertView, RoundTripView

urlpatterns = [
    path("bench/ceiling", CeilingView.as_view()),
    path("bench/round-trip", RoundTripView.as_view()),
    path("bench/insert", InsertView.as_view()),
    path("bench/peer/", include("s3_file_field.urls")),
    *example_urlpatterns,
]
