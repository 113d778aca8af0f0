"""Refused requests for clinical and financial records go to the access log."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from arcs import services

# The routes that name one clinical or financial record, with the record's kind and the
# URL argument holding its id. A 403 or 404 on one of these, to a signed-in person, is a
# refused look at someone's record (or a guess at an id): it is logged as "denied".
RECORD_ROUTES: dict[str, tuple[str, str]] = {
    **{
        f"arcs:{name}": ("arc", "pk")
        for name in (
            "arc_detail",
            "arc_edit",
            "arc_status",
            "arc_review",
            "measurement_add",
            "measurement_correct",
            "note_add",
            "arc_history",
            "plan_item_add",
            "plan_item_edit",
            "plan_item_remove",
        )
    },
    "arcs:member_fhir_export": ("member", "member_pk"),
    "arcs:arc_create": ("member", "member_pk"),
    "careteam:care_team": ("member", "member_pk"),
    "careteam:care_team_end": ("care_team_assignment", "pk"),
    "careteam:consultation_new": ("arc", "arc_pk"),
    "careteam:consultation_detail": ("consultation", "pk"),
    "careteam:consultation_close": ("consultation", "pk"),
    "billing:invoice_pdf": ("invoice", "pk"),
    "billing:invoice_detail": ("invoice", "pk"),
    "billing:payment_create": ("invoice", "pk"),
    "billing:credit_note_create": ("invoice", "pk"),
    "billing:refund_create": ("invoice", "pk"),
    "billing:credit_note_pdf": ("credit_note", "pk"),
    "billing:anchor_contract": ("contract", "pk"),
    "billing:contract_detail": ("contract", "pk"),
    "billing:value_report": ("contract", "pk"),
    "billing:value_report_pdf": ("contract", "pk"),
    "billing:anchor_roster": ("contract", "pk"),
    "members:certificate_download": ("share_certificate", "pk"),
    "members:member_detail": ("member", "pk"),
}
DENIED_STATUSES = frozenset({403, 404})


class DeniedAccessLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        user = getattr(request, "user", None)
        if (
            response.status_code in DENIED_STATUSES
            and match is not None
            and match.view_name in RECORD_ROUTES
            and user is not None
            and user.is_authenticated
        ):
            record_type, argument = RECORD_ROUTES[match.view_name]
            record_id = match.kwargs.get(argument)
            services.access_denied_record(
                user=user,
                path=request.get_full_path(),
                record_type=record_type,
                # A guess beyond any id the column can hold is still logged, without it.
                record_id=record_id if record_id is not None and record_id < 2**63 else None,
            )
        return response
