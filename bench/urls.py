from django.http import HttpRequest, HttpResponse
from django.urls import path

from clinic.urls import urlpatterns as clinic_urlpatterns


def plain(request: HttpRequest) -> HttpResponse:
    """No database, no template: the floor every page is compared with."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/plain", plain, name="bench_plain"), *clinic_urlpatterns]
