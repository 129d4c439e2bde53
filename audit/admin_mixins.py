"""The admin mixins that put staff's reading and editing of customer records in the evidence trail:
every list and every view (EVD-2), every save of the few rows staff edit in forms (EVD-1)."""

from typing import Any

from django.db.models import Model
from django.http import HttpRequest, HttpResponse

from audit.services import Actor, audit_record
from core import clock
from core.http import client_address


class StaffAccessAuditMixin:
    """EVD-2: every staff view of a customer's record is itself recorded in the audit trail."""

    def organization_of(self, obj: Model) -> Any:
        return getattr(obj, "organization", None)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        if request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, object_id)  # type: ignore[attr-defined]
            if obj is not None:
                self.record_access(request, obj)
        return response

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)  # type: ignore[misc]
        if request.method == "GET" and response.status_code == 200:
            audit_record(
                actor=Actor.for_user(request.user, client_address=client_address(request)),
                action="staff.listed",
                rule="EVD-2",
                obj=self.model,  # type: ignore[attr-defined]
                after={"query": request.GET.urlencode()},
                at=clock.now(),
            )
        return response

    def record_access(self, request: HttpRequest, obj: Model) -> None:
        audit_record(
            actor=Actor.for_user(request.user, client_address=client_address(request)),
            action="staff.viewed",
            rule="EVD-2",
            obj=obj,
            organization=self.organization_of(obj),
            at=clock.now(),
        )


class AuditedChangesMixin(StaffAccessAuditMixin):
    """For the few rows staff edit in forms (users, documents): each save is recorded (EVD-1),
    naming the fields changed; a password shows only as changed."""

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        changed = {
            field: "(changed)" if "password" in field else str(form.cleaned_data.get(field))
            for field in form.changed_data
        }
        audit_record(
            actor=Actor.for_user(request.user, client_address=client_address(request)),
            action="staff.changed" if change else "staff.created",
            rule="EVD-1",
            obj=obj,
            organization=self.organization_of(obj),
            after=changed,
            at=clock.now(),
        )
