from django.contrib import admin
from django.urls import include, path

from careteam import views as careteam_views
from clinic import views
from members import views as members_views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("home/", views.home, name="home"),
    path("build/", views.build_one, name="build_one"),
    path("administration/", views.administration, name="administration"),
    path("healthz", views.healthz, name="healthz"),
    path("join/", members_views.join, name="join"),
    path("practise/", careteam_views.practise_here, name="practise_here"),
    path("practise/thanks/", careteam_views.practise_thanks, name="practise_thanks"),
    path("rules/", members_views.rules, name="rules"),
    path(
        "orientation/<int:pk>/",
        members_views.orientation_register,
        name="orientation_register",
    ),
    path(
        "orientation/registered/",
        members_views.orientation_registered,
        name="orientation_registered",
    ),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("membership/", include("members.urls")),
    path("care/", include("careteam.urls")),
    path("arcs/", include("arcs.urls")),
    path("billing/", include("billing.urls")),
    path("governance/", include("governance.urls")),
    path("django-admin/", admin.site.urls),
]

handler500 = "clinic.views.server_error"
