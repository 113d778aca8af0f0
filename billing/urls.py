from django.urls import path

from billing import views

app_name = "billing"
urlpatterns = [
    path("contract/", views.contract, name="contract"),
    path("contract/<int:pk>/", views.anchor_contract, name="anchor_contract"),
    path("contract/<int:pk>/people/", views.anchor_roster, name="anchor_roster"),
    path("contract/<int:pk>/statement.pdf", views.contract_statement, name="contract_statement"),
    path("statement.pdf", views.my_statement, name="my_statement"),
    path("members/<int:member_pk>/statement.pdf", views.member_statement, name="member_statement"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("credit-notes/<int:pk>/pdf/", views.credit_note_pdf, name="credit_note_pdf"),
    path("anchors/", views.anchor_list, name="anchor_list"),
    path("anchors/new/", views.anchor_edit, name="anchor_create"),
    path("anchors/<int:pk>/", views.anchor_edit, name="anchor_edit"),
    path("contracts/", views.contract_list, name="contract_list"),
    path("contracts/new/", views.contract_create, name="contract_create"),
    path("contracts/<int:pk>/", views.contract_detail, name="contract_detail"),
    path("contracts/<int:pk>/edit/", views.contract_edit, name="contract_edit"),
    path(
        "contracts/<int:pk>/status/<str:to>/", views.contract_transition, name="contract_transition"
    ),
    path("contracts/<int:pk>/roster/", views.roster_import, name="roster_import"),
    path("contracts/<int:pk>/value/", views.value_report, name="value_report"),
    path("contracts/<int:pk>/value.pdf", views.value_report_pdf, name="value_report_pdf"),
    path("cover/<int:pk>/end/", views.enrolment_end, name="enrolment_end"),
    path("invoices/", views.invoice_list, name="invoice_list"),
    path("invoices/run/", views.run_invoicing, name="run_invoicing"),
    path("invoices/run/preview/<int:pk>/", views.run_preview, name="run_preview"),
    path("invoices/runs/<int:pk>/", views.run_progress, name="run_progress"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/payments/", views.payment_create, name="payment_create"),
    path("invoices/<int:pk>/credit-notes/", views.credit_note_create, name="credit_note_create"),
    path("emails/<int:pk>/resend/", views.invoice_email_resend, name="invoice_email_resend"),
    path("invoices/<int:pk>/refunds/", views.refund_create, name="refund_create"),
    path("reports/aging/", views.aging_report, name="aging_report"),
    path("reports/aging.csv", views.aging_report_csv, name="aging_report_csv"),
    path("reports/aging/remind/", views.aging_remind, name="aging_remind"),
    path("reports/federation/", views.federation_statement, name="federation_statement"),
    path(
        "reports/federation/prepare/",
        views.federation_statement_request,
        name="federation_request",
    ),
    path("reports/federation.pdf", views.federation_statement_pdf, name="federation_pdf"),
]
