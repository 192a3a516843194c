"""Data-subject requests: filed, listed, extended, rejected and completed.

Services flush, never commit. Every decision by a person is written to the
access log with the reason they gave; the decision itself (who, when, what
happened) stays on the request.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from core.database import utcnow
from core.errors import Conflict, NotFound, ValidationFailed
from privacy.audit import Access, AccessAuditService
from privacy.providers import ProviderRegistry
from privacy.purposes import PRIVACY_RIGHTS, processes
from privacy.redaction import redact
from privacy.requests.completion import RequestCompletion
from privacy.requests.deadlines import EXTENSION_MONTHS, due_at, first_period_over
from privacy.requests.details import clean_details, sealed
from privacy.requests.models import CHANNELS, OPEN, STATUSES, TYPES, SubjectRequest

REASON_LENGTH = 500


class SubjectRequestService:
    """The life cycle of data-subject requests."""

    def __init__(self, session, providers: ProviderRegistry, completion: RequestCompletion,
                 audit: AccessAuditService, clock=utcnow):
        self._session = session
        self._providers = providers
        self._completion = completion
        self._audit = audit
        self._clock = clock

    # -- filing --------------------------------------------------------------

    @processes(PRIVACY_RIGHTS)
    def file(self, subject_kind: str, subject_id: str, request_type: str,
             details: dict | None = None, *, channel: str = "customer_area",
             received_at: datetime | None = None) -> SubjectRequest:
        """Record a request; its deadline runs from RECEIVED_AT (default: now)."""
        self._check_choice("type", request_type, TYPES)
        self._check_choice("channel", channel, CHANNELS)
        now = self._clock()
        received_at = received_at or now
        if received_at > now:
            raise ValidationFailed(errors={"received_at": ["May not be in the future."]})
        cleaned = clean_details(request_type, details)
        self._refuse_second_open(subject_kind, subject_id, request_type)
        request = SubjectRequest(subject_kind=subject_kind, subject_id=subject_id,
                                 type=request_type, status="received", channel=channel,
                                 details=sealed(cleaned), received_at=received_at,
                                 due_at=due_at(received_at), created_at=now)
        self._session.add(request)
        try:
            with self._session.begin_nested():
                self._session.flush()
        except IntegrityError:
            # Two filings raced past the check: the partial unique index kept one.
            self._refuse_second_open(subject_kind, subject_id, request_type)
            raise
        return request

    @processes(PRIVACY_RIGHTS)
    def enter(self, subject_kind: str, subject_id: str, request_type: str, details: dict | None,
              channel: str, received_at: datetime | None, access: Access) -> SubjectRequest:
        """Record a request that reached the privacy officer by email, post or phone."""
        found = self._providers.find_subject(self._session, subject_id)
        if found != (subject_kind, subject_id):
            raise NotFound("No such account.")
        self._audit.record(access, subject_id, "privacy.request.enter")
        return self.file(subject_kind, subject_id, request_type, details, channel=channel,
                         received_at=received_at)

    @staticmethod
    def _check_choice(field: str, value: str, allowed: tuple[str, ...]) -> None:
        if value not in allowed:
            raise ValidationFailed(errors={field: [f"One of: {', '.join(allowed)}."]})

    def _refuse_second_open(self, subject_kind: str, subject_id: str, request_type: str):
        open_id = self._session.scalar(
            sa.select(SubjectRequest.id).where(
                SubjectRequest.subject_kind == subject_kind,
                SubjectRequest.subject_id == subject_id, SubjectRequest.type == request_type,
                SubjectRequest.status.in_(OPEN)))
        if open_id is not None:
            raise Conflict(f"A {request_type} request is already open.", errors={"id": open_id})

    # -- reading -------------------------------------------------------------

    def get(self, request_id: str, *, lock: bool = False) -> SubjectRequest:
        """The request REQUEST_ID (locked for a decision when LOCK)."""
        request = self._session.get(SubjectRequest, request_id, with_for_update=lock)
        if request is None:
            raise NotFound("No such request.")
        return request

    def for_subject(self, subject_kind: str, subject_id: str) -> list[SubjectRequest]:
        """The subject's requests, newest first."""
        return list(self._session.scalars(
            sa.select(SubjectRequest)
            .where(SubjectRequest.subject_kind == subject_kind,
                   SubjectRequest.subject_id == subject_id)
            .order_by(SubjectRequest.received_at.desc(), SubjectRequest.id)))

    def search(self, status: str | None = None, request_type: str | None = None,
               overdue: bool | None = None) -> list[SubjectRequest]:
        """Requests by status and type; OVERDUE: open and past due (or the opposite)."""
        query = sa.select(SubjectRequest).order_by(SubjectRequest.due_at, SubjectRequest.id)
        if status is not None:
            self._check_choice("status", status, STATUSES)
            query = query.where(SubjectRequest.status == status)
        if request_type is not None:
            self._check_choice("type", request_type, TYPES)
            query = query.where(SubjectRequest.type == request_type)
        if overdue is not None:
            late = sa.and_(SubjectRequest.status.in_(OPEN), SubjectRequest.due_at < self._clock())
            query = query.where(late if overdue else sa.not_(late))
        return list(self._session.scalars(query))

    def overdue(self) -> list[SubjectRequest]:
        """Open requests past their deadline, the most overdue first."""
        return self.search(overdue=True)

    # -- deciding ------------------------------------------------------------

    def _open(self, request_id: str) -> SubjectRequest:
        request = self.get(request_id, lock=True)
        if request.status not in OPEN:
            raise Conflict(f"The request is already {request.status}.")
        return request

    def _decide(self, request: SubjectRequest, status: str, outcome: dict,
                access: Access) -> SubjectRequest:
        request.status = status
        request.outcome = outcome
        request.decided_at = self._clock()
        request.decided_by = access.actor.id
        self._session.flush()
        return request

    @processes(PRIVACY_RIGHTS)
    def complete(self, request_id: str, access: Access,
                 compelling_grounds: str | None = None) -> SubjectRequest:
        """Carry the request out now, in this transaction, and record the outcome."""
        request = self._open(request_id)
        if compelling_grounds is not None:
            compelling_grounds = _reason(compelling_grounds, "compelling_grounds")
        if request.type != "erasure":
            # An erasure records its own access, before the data it names is gone.
            self._audit.record(access, request.subject_id, f"privacy.request.{request.type}")
        status, outcome = self._completion.carry_out(request, access, compelling_grounds)
        return self._decide(request, status, outcome, access)

    @processes(PRIVACY_RIGHTS)
    def extend(self, request_id: str, months: int, reason: str,
               access: Access) -> SubjectRequest:
        """Extend the deadline once by MONTHS (1 or 2), only within the first month."""
        if months not in EXTENSION_MONTHS:
            raise ValidationFailed(errors={"months": ["1 or 2."]})
        reason = _reason(reason, "reason")
        request = self._open(request_id)
        if request.extended_months:
            raise Conflict("The request has already been extended.")
        if first_period_over(request.received_at, self._clock()):
            raise Conflict("An extension must be made within the first month after receipt.")
        self._audit.record(access, request.subject_id, "privacy.request.extend")
        request.extended_months = months
        request.extension_reason = reason
        request.due_at = due_at(request.received_at, months)
        request.status = "extended"
        self._session.flush()
        return request

    @processes(PRIVACY_RIGHTS)
    def reject(self, request_id: str, reason: str, access: Access) -> SubjectRequest:
        """Refuse the request, with the reason the subject is given."""
        reason = _reason(reason, "reason")
        request = self._open(request_id)
        self._audit.record(access, request.subject_id, "privacy.request.reject")
        return self._decide(request, "rejected", {"reason": reason}, access)


def _reason(text: str | None, field: str) -> str:
    """A reason the subject is given: 3..500 characters, addresses and codes scrubbed."""
    text = redact((text or "").strip())
    if not 3 <= len(text) <= REASON_LENGTH:
        raise ValidationFailed(errors={field: [f"A reason of 3..{REASON_LENGTH} characters."]})
    return text
