from django.urls import path

from governance import views

app_name = "governance"
urlpatterns = [
    path("", views.index, name="index"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting_detail"),
    path(
        "meetings/<int:pk>/documents/<int:document_pk>/",
        views.document_download,
        name="document_download",
    ),
    path("ballots/<int:pk>/", views.ballot_detail, name="ballot_detail"),
    path("ballots/<int:pk>/vote/", views.ballot_vote, name="ballot_vote"),
    path("ballots/<int:pk>/proxy/", views.proxy_appoint, name="proxy_appoint"),
    path("ballots/<int:pk>/proxy/revoke/", views.proxy_revoke, name="proxy_revoke"),
    path("ballots/<int:pk>/results/", views.ballot_results, name="ballot_results"),
    path("ballots/<int:pk>/results.pdf", views.ballot_results_pdf, name="ballot_results_pdf"),
    path("manage/", views.manage, name="manage"),
    path("manage/meetings/new/", views.meeting_create, name="meeting_create"),
    path("manage/meetings/<int:pk>/", views.meeting_manage, name="meeting_manage"),
    path("manage/meetings/<int:pk>/edit/", views.meeting_edit, name="meeting_edit"),
    path("manage/meetings/<int:pk>/agenda/", views.agenda_add, name="agenda_add"),
    path("manage/meetings/<int:pk>/documents/", views.document_upload, name="document_upload"),
    path("manage/meetings/<int:pk>/notice/", views.notice_send, name="notice_send"),
    path(
        "manage/meetings/<int:pk>/notice/progress/",
        views.notice_progress,
        name="notice_progress",
    ),
    path(
        "manage/meetings/<int:pk>/notice/<int:delivery_pk>/resend/",
        views.notice_requeue,
        name="notice_requeue",
    ),
    path(
        "manage/meetings/<int:pk>/postal-notices/<int:batch_pk>.pdf",
        views.postal_notices_pdf,
        name="postal_notices_pdf",
    ),
    path("manage/ballots/new/", views.ballot_create, name="ballot_create"),
    path("manage/ballots/<int:pk>/", views.ballot_manage, name="ballot_manage"),
    path("manage/ballots/<int:pk>/open/", views.ballot_open, name="ballot_open"),
    path("manage/ballots/<int:pk>/edit/", views.ballot_edit, name="ballot_edit"),
    path("manage/ballots/<int:pk>/close/", views.ballot_close, name="ballot_close"),
    path("manage/ballots/<int:pk>/cancel/", views.ballot_cancel, name="ballot_cancel"),
    path("manage/ballots/<int:pk>/board/", views.board_apply, name="board_apply"),
    path("manage/board/", views.board, name="board"),
]
