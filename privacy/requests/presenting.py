"""A request as the API, the pages and the CLI show it."""

from __future__ import annotations

from datetime import datetime

from core.database import rfc3339, utcnow
from privacy.requests.deadlines import is_overdue
from privacy.requests.details import masked, unsealed
from privacy.requests.models import OPEN, SubjectRequest


def describe(request: SubjectRequest, *, staff: bool = False,
             now: datetime | None = None) -> dict:
    """REQUEST as JSON-ready data; for STAFF with the account and masked details."""
    details = unsealed(request.details)
    shown = {"id": request.id, "type": request.type, "status": request.status,
             "channel": request.channel, "received_at": rfc3339(request.received_at),
             "due_at": rfc3339(request.due_at),
             "overdue": is_overdue(request.status in OPEN, request.due_at, now or utcnow()),
             "details": masked(details) if staff else details,
             "extension": ({"months": request.extended_months,
                            "reason": request.extension_reason}
                           if request.extended_months else None),
             "decided_at": rfc3339(request.decided_at),
             "outcome": request.outcome}
    if staff:
        shown["account"] = request.subject_id
    return shown
