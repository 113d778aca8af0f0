from django.urls import path

from arcs import views

app_name = "arcs"
urlpatterns = [
    path("mine/", views.my_care_arc, name="my_care_arc"),
    path("mine/fhir/", views.my_fhir_export, name="my_fhir_export"),
    path("mine/summary/", views.my_care_summary, name="my_care_summary"),
    path("mine/summary.pdf", views.my_care_summary_pdf, name="my_care_summary_pdf"),
    path("members/<int:member_pk>/fhir/", views.member_fhir_export, name="member_fhir_export"),
    path("members/<int:member_pk>/new/", views.arc_create, name="arc_create"),
    path("members/without-arc/", views.members_without_arc, name="members_without_arc"),
    path("list/", views.arc_list, name="arc_list"),
    path("access-log/", views.access_log, name="access_log"),
    path("outcome-measures/", views.outcome_measures, name="outcome_measures"),
    path("<int:pk>/", views.arc_detail, name="arc_detail"),
    path("<int:pk>/edit/", views.arc_edit, name="arc_edit"),
    path("<int:pk>/status/", views.arc_status, name="arc_status"),
    path("<int:pk>/review/", views.arc_review, name="arc_review"),
    path("<int:pk>/measures/new/", views.measurement_add, name="measurement_add"),
    path(
        "<int:pk>/measures/<int:measurement_pk>/correct/",
        views.measurement_correct,
        name="measurement_correct",
    ),
    path("<int:pk>/notes/new/", views.note_add, name="note_add"),
    path("<int:pk>/history/", views.arc_history, name="arc_history"),
    path("<int:pk>/<str:kind>/new/", views.plan_item_edit, name="plan_item_add"),
    path("<int:pk>/<str:kind>/<int:item_pk>/", views.plan_item_edit, name="plan_item_edit"),
    path(
        "<int:pk>/<str:kind>/<int:item_pk>/remove/",
        views.plan_item_remove,
        name="plan_item_remove",
    ),
]
