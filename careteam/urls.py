from django.urls import path

from careteam import views

app_name = "careteam"
urlpatterns = [
    path("caseload/", views.caseload, name="caseload"),
    path("team/", views.team_dashboard, name="team_dashboard"),
]
