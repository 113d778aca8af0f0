"""The superuser's repair view of the register. Everyday work happens on the clinic's pages.

Status, number and shares change only through ``members.services`` (which enforce the
rules and write the history), so they are read-only here, and the append-only records
(share ledger, status history) cannot be added, changed or deleted at all.
"""

from django.contrib import admin

from members.models import (
    FEE_PLAN_PRICE_FIELDS,
    FeePlan,
    FeePlanAssignment,
    Member,
    MemberStatusEvent,
    ShareCertificate,
    ShareClass,
    ShareLedgerEntry,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["number", "user", "status", "admitted_on", "ceased_on"]
    list_filter = ["status"]
    search_fields = ["number", "user__email", "user__first_name", "user__last_name"]
    list_select_related = ["user"]
    readonly_fields = ["user", "number", "status", "admitted_on", "ceased_on", "applied_on"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FeePlan)
class FeePlanAdmin(admin.ModelAdmin):
    list_display = ["name", "amount", "currency", "period", "is_available"]

    def get_readonly_fields(self, request, obj=None):
        # Once assigned, the price is fixed (the model and a database trigger refuse it).
        if obj is not None and obj.assignments.exists():
            return FEE_PLAN_PRICE_FIELDS
        return ()


@admin.register(ShareClass)
class ShareClassAdmin(admin.ModelAdmin):
    list_display = ["name", "par_value", "currency", "minimum_holding"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FeePlanAssignment)
class FeePlanAssignmentAdmin(ReadOnlyAdmin):
    list_display = ["member", "plan", "valid_from", "valid_to"]
    list_select_related = ["member__user", "plan"]


@admin.register(ShareLedgerEntry)
class ShareLedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["entry_date", "member", "share_class", "kind", "quantity", "amount"]
    list_filter = ["kind", "share_class"]
    list_select_related = ["member__user", "share_class"]
    search_fields = ["member__number", "member__user__email", "reference"]


@admin.register(MemberStatusEvent)
class MemberStatusEventAdmin(ReadOnlyAdmin):
    list_display = ["effective_on", "member", "from_status", "to_status", "recorded_by"]
    list_select_related = ["member__user", "recorded_by"]


@admin.register(ShareCertificate)
class ShareCertificateAdmin(ReadOnlyAdmin):
    list_display = ["pk", "member", "share_class", "quantity", "issued_on"]
    list_select_related = ["member__user", "share_class"]
