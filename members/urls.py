from django.urls import path

from members import views

app_name = "members"
urlpatterns = [
    path("", views.my_membership, name="my_membership"),
    path("details/", views.my_details, name="my_details"),
    path(
        "certificates/class/<int:share_class_pk>/",
        views.certificate_request,
        name="certificate_request",
    ),
    path("certificates/<int:pk>/", views.certificate_download, name="certificate_download"),
    path("applied/", views.join_done, name="join_done"),
    path("applications/", views.applications, name="applications"),
    path("applications/<int:pk>/", views.application_detail, name="application_detail"),
    path("applications/<int:pk>/approve/", views.application_approve, name="application_approve"),
    path("applications/<int:pk>/reject/", views.application_reject, name="application_reject"),
    path("register/", views.register, name="register"),
    path("register/export.csv", views.register_csv, name="register_csv"),
    path("register/exports/", views.register_exports, name="register_exports"),
    path(
        "register/exports/<int:pk>/",
        views.register_export_download,
        name="register_export_download",
    ),
    path("register/import/", views.register_import, name="register_import"),
    path("register/<int:pk>/", views.member_detail, name="member_detail"),
    path("register/<int:pk>/status/", views.member_status, name="member_status"),
    path(
        "register/<int:pk>/emails/<int:email_pk>/resend/",
        views.member_email_resend,
        name="member_email_resend",
    ),
    path("register/<int:pk>/plan/", views.member_plan, name="member_plan"),
    path("register/<int:pk>/orientation/", views.member_orientation, name="member_orientation"),
    path("register/<int:pk>/shares/<slug:action>/", views.member_shares, name="member_shares"),
    path("orientation/", views.orientation_sessions, name="orientation_sessions"),
    path(
        "orientation/<int:pk>/",
        views.orientation_session_detail,
        name="orientation_session_detail",
    ),
    path(
        "register/<int:pk>/certificates/class/<int:share_class_pk>/",
        views.member_certificate_issue,
        name="member_certificate_issue",
    ),
    path(
        "register/<int:member_pk>/certificates/<int:pk>/",
        views.member_certificate_download,
        name="member_certificate_download",
    ),
    path(
        "register/<int:member_pk>/certificates/<int:pk>/reissue/",
        views.member_certificate_reissue,
        name="member_certificate_reissue",
    ),
    path("ledger/", views.ledger, name="ledger"),
    path("ledger/<int:pk>/reverse/", views.ledger_reverse, name="ledger_reverse"),
    path("plans/", views.fee_plans, name="fee_plans"),
    path("plans/<int:pk>/", views.fee_plan_edit, name="fee_plan_edit"),
]
