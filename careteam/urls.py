from django.urls import path

from careteam import views

app_name = "careteam"
urlpatterns = [
    path("caseload/", views.caseload, name="caseload"),
    path("reviews-due/", views.reviews_due, name="reviews_due"),
    path("team/", views.team_dashboard, name="team_dashboard"),
    path("members/", views.care_team_members, name="care_team_members"),
    path("members/<int:member_pk>/team/", views.care_team, name="care_team"),
    path("assignments/<int:pk>/end/", views.care_team_end, name="care_team_end"),
    path("arcs/<int:arc_pk>/consult/", views.consultation_new, name="consultation_new"),
    path("consultations/", views.consultation_list, name="consultation_list"),
    path("consultations/<int:pk>/", views.consultation_detail, name="consultation_detail"),
    path("consultations/<int:pk>/close/", views.consultation_close, name="consultation_close"),
    path("interest/", views.interest_list, name="interest_list"),
    path("interest/<int:pk>/", views.interest_detail, name="interest_detail"),
    path("interest/<int:pk>/close/", views.interest_close, name="interest_close"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path(
        "notifications/<int:pk>/resend/",
        views.notification_email_resend,
        name="notification_email_resend",
    ),
]
