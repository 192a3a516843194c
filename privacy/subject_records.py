"""The privacy engine's own records about a subject: requests, consents, notices, objections.

They are exported with everything the providers hold (Art 15, 20) and
handled by an erasure like a provider's data: consents, notices and
objections go; requests stay as the proof that they were answered
(Legal obligation, ``privacy.rights``), without what the subject wrote.
"""

from __future__ import annotations

import sqlalchemy as sa

from core.database import rfc3339
from privacy.consents import ConsentRecord
from privacy.notices import Notice, notice_view
from privacy.objections import ObjectionService, ProcessingObjection
from privacy.providers import ErasureOutcome, Kept
from privacy.purposes import PRIVACY_RIGHTS, processes
from privacy.requests.models import SubjectRequest
from privacy.requests.presenting import describe

NAME = "privacy"


class SubjectRecords:
    """Export and erase what ``privacy`` itself keeps about one subject."""

    name = NAME

    def __init__(self, session):
        self._session = session

    def _requests(self, subject_kind: str, subject_id: str):
        return self._session.scalars(
            sa.select(SubjectRequest).where(SubjectRequest.subject_kind == subject_kind,
                                            SubjectRequest.subject_id == subject_id)
            .order_by(SubjectRequest.received_at, SubjectRequest.id))

    @processes(PRIVACY_RIGHTS)
    def export(self, subject_kind: str, subject_id: str) -> dict:
        """The subject's requests, consents, notices and objections."""
        consents = self._session.scalars(
            sa.select(ConsentRecord).where(ConsentRecord.subject_kind == subject_kind,
                                           ConsentRecord.subject_id == subject_id)
            .order_by(ConsentRecord.recorded_at, ConsentRecord.id))
        notices = self._session.scalars(
            sa.select(Notice).where(Notice.subject_kind == subject_kind,
                                    Notice.subject_id == subject_id)
            .order_by(Notice.created_at, Notice.id))
        return {
            "requests": [describe(r) for r in self._requests(subject_kind, subject_id)],
            "consents": [{"purpose": c.purpose, "granted": c.granted,
                          "recorded_at": rfc3339(c.recorded_at),
                          "policy_version": c.policy_version} for c in consents],
            "notices": [notice_view(n) for n in notices],
            "objections": ObjectionService(self._session).for_subject(subject_kind, subject_id),
        }

    @processes(PRIVACY_RIGHTS)
    def erase(self, subject_kind: str, subject_id: str) -> ErasureOutcome:
        """Delete consents, notices and objections; clear what the subject wrote on requests."""
        counts = {}
        for label, model in (("consent record(s)", ConsentRecord), ("notice(s)", Notice),
                             ("objection(s)", ProcessingObjection)):
            counts[label] = self._session.execute(
                sa.delete(model).where(model.subject_kind == subject_kind,
                                       model.subject_id == subject_id)
                .execution_options(synchronize_session=False)).rowcount
        requests = list(self._requests(subject_kind, subject_id))
        for request in requests:
            request.details = None
        self._session.flush()
        return ErasureOutcome(
            erased=[f"{count} {label}" for label, count in counts.items()]
            + [f"what you wrote on {len(requests)} data-protection request(s)"],
            kept=[Kept("your data-protection requests: type, dates and outcome (not what you "
                       "wrote)", PRIVACY_RIGHTS,
                       "to show that each request was answered, and how (GDPR Art 5(2), 12)",
                       until="3 years after each request closes")])
