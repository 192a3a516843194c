"""Disclosures of compliance records: checked, minimised, logged, signed and queued.

A disclosure is checked against the sharing matrix before anything is stored:
a refused one sends nothing and stores nothing. An allowed one is logged in
the access log under ``legal.disclosure`` for every subject it concerns, and
its payload — a JWS signed with the service's lease keys — goes into the
outbox in the same transaction, so a crash can never lose a disclosure that
was answered 201, nor deliver one that was not stored. Re-identification (law
enforcement only) waits for a second officer; its payload is built only then.
"""

from __future__ import annotations

from typing import Callable, Iterable

import sqlalchemy as sa

from core.database import rfc3339, utcnow
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from privacy.audit import Access, AccessAuditService, Actor
from privacy.legal import matrix
from privacy.legal.models import (RECIPIENT_CATEGORIES, Disclosure, DisclosureSubject,
                                  LegalRecord, OutboxEntry, Recipient, SubjectLink)
from privacy.legal.records import RecordService, as_dict
from privacy.pseudonym import Pseudonym
from privacy.purposes import LEGAL_DISCLOSURE, processes

MAX_LISTED = 1000
# identify(subject_kind, subject_id) -> {"username", "email"} of a live subject, else None.
Identify = Callable[[str, str], "dict | None"]


def as_disclosure_dict(disclosure: Disclosure, recipient: Recipient) -> dict:
    """A disclosure as the API shows it."""
    return {"id": disclosure.id, "status": disclosure.status,
            "records": list(disclosure.record_ids),
            "recipient": {"id": recipient.id, "name": recipient.name,
                          "category": recipient.category},
            "legal_reference": disclosure.legal_reference,
            "reidentify": disclosure.reidentify, "created_by": disclosure.created_by,
            "approved_by": disclosure.approved_by,
            "created_at": rfc3339(disclosure.created_at),
            "delivered_at": rfc3339(disclosure.delivered_at),
            "attempts": disclosure.attempts, "last_error": disclosure.last_error}


def check_endpoint(endpoint: str, allow_http: bool) -> None:
    """Recipients are reached over TLS; plain HTTP only where the embedded default allows it."""
    schemes = ("https://", "http://") if allow_http else ("https://",)
    if not endpoint.startswith(schemes) or len(endpoint) > 500:
        allowed = " or ".join(schemes)
        raise ValidationFailed(errors={"endpoint": [f"Must be an {allowed} URL."]})


class DisclosureService:
    """Register recipients; create, approve and list disclosures."""

    def __init__(self, session, audit: AccessAuditService, sign: Callable[[dict], str],
                 identify: Identify, issuer: str, clock=utcnow):
        self._session = session
        self._audit = audit
        self._sign = sign
        self._identify = identify
        self._issuer = issuer
        self._records = RecordService(session, clock)
        self._clock = clock

    # -- recipients -------------------------------------------------------

    def add_recipient(self, name: str, category: str, endpoint: str,
                      allow_http: bool) -> Recipient:
        """Register a recipient of CATEGORY reached at ENDPOINT."""
        if category not in RECIPIENT_CATEGORIES:
            raise ValidationFailed(errors={"category": [
                "One of " + ", ".join(RECIPIENT_CATEGORIES) + "."]})
        check_endpoint(endpoint, allow_http)
        recipient = Recipient(name=name, category=category, endpoint=endpoint,
                              created_at=self._clock())
        self._session.add(recipient)
        self._session.flush()
        return recipient

    def recipient(self, recipient_id: str) -> Recipient:
        """The recipient RECIPIENT_ID."""
        found = self._session.get(Recipient, recipient_id)
        if found is None:
            raise NotFound("No such recipient.")
        return found

    def recipients(self) -> list[Recipient]:
        """Every registered recipient, by name."""
        return list(self._session.scalars(sa.select(Recipient).order_by(Recipient.name,
                                                                        Recipient.id)))

    # -- disclosures ------------------------------------------------------

    @processes(LEGAL_DISCLOSURE)
    def create(self, actor: Actor, record_ids: list[str], recipient_id: str,
               legal_reference: str | None, reidentify: bool,
               request_id: str | None = None) -> Disclosure:
        """Disclose RECORD_IDS to a recipient, if the sharing matrix allows every one."""
        recipient = self.recipient(recipient_id)
        matrix.require_legal_reference(recipient.category, legal_reference)
        records = [self._records.get(record_id) for record_id in dict.fromkeys(record_ids)]
        for record in records:
            matrix.check(record.id, list(record.tags), record.lawful_basis, recipient.category,
                         reidentify)
        disclosure = Disclosure(
            status="awaiting_approval" if reidentify else "pending", recipient_id=recipient.id,
            record_ids=[r.id for r in records], legal_reference=legal_reference or None,
            reidentify=reidentify, created_by=actor.id, created_at=self._clock(), attempts=0)
        self._session.add(disclosure)
        self._session.flush()
        self._session.add_all(DisclosureSubject(disclosure_id=disclosure.id, subject=subject)
                              for subject in dict.fromkeys(r.subject for r in records))
        self._log(actor, disclosure, recipient, records, "legal.disclosure.create", request_id)
        if not reidentify:
            self._enqueue(disclosure, records, recipient)
        self._session.flush()
        return disclosure

    @processes(LEGAL_DISCLOSURE)
    def approve(self, actor: Actor, disclosure_id: str,
                request_id: str | None = None) -> Disclosure:
        """A second officer approves a re-identifying disclosure; it goes to the outbox."""
        disclosure = self.get(disclosure_id)
        if disclosure.status != "awaiting_approval":
            raise Conflict("The disclosure is not awaiting approval.")
        if disclosure.created_by == actor.id:
            raise Forbidden("A second officer must approve a re-identification; the officer "
                            "who asked for it cannot.")
        recipient = self.recipient(disclosure.recipient_id)
        records = [self._records.get(record_id) for record_id in disclosure.record_ids]
        disclosure.approved_by, disclosure.status = actor.id, "pending"
        self._log(actor, disclosure, recipient, records, "legal.disclosure.approve", request_id)
        self._enqueue(disclosure, records, recipient)
        self._session.flush()
        return disclosure

    def get(self, disclosure_id: str) -> Disclosure:
        """The disclosure DISCLOSURE_ID."""
        found = self._session.get(Disclosure, disclosure_id)
        if found is None:
            raise NotFound("No such disclosure.")
        return found

    def list(self, status: str | None = None) -> list[tuple[Disclosure, Recipient]]:
        """The newest disclosures (of STATUS), each with its recipient."""
        query = sa.select(Disclosure, Recipient).join(Recipient)
        if status is not None:
            query = query.where(Disclosure.status == status)
        rows = self._session.execute(
            query.order_by(Disclosure.created_at.desc(), Disclosure.id).limit(MAX_LISTED))
        return [(disclosure, recipient) for disclosure, recipient in rows]

    # -- inside -----------------------------------------------------------

    def _log(self, actor: Actor, disclosure: Disclosure, recipient: Recipient,
             records: Iterable[LegalRecord], action: str, request_id: str | None) -> None:
        reason = disclosure.legal_reference or (
            f"disclosure {disclosure.id} to a {recipient.category} recipient")
        access = Access(actor, LEGAL_DISCLOSURE, reason, request_id)
        for record in {r.subject: r for r in records}.values():
            link = self._session.get(SubjectLink, record.subject)
            if link is not None:
                self._audit.record(access, link.subject_id, action)
            else:
                self._audit.record_pseudonym(
                    access, Pseudonym(record.subject, record.subject_key_version), action)

    def _enqueue(self, disclosure: Disclosure, records: list[LegalRecord],
                 recipient: Recipient) -> None:
        now = self._clock()
        claims = {"iss": self._issuer, "aud": recipient.id, "jti": disclosure.id,
                  "iat": int(now.timestamp()), "legal_reference": disclosure.legal_reference,
                  "records": [self._payload(record, recipient.category, disclosure.reidentify)
                              for record in records]}
        self._session.add(OutboxEntry(disclosure_id=disclosure.id, token=self._sign(claims),
                                      next_attempt_at=now))

    def _payload(self, record: LegalRecord, category: str, reidentify: bool) -> dict:
        item = matrix.minimised(category, as_dict(record))
        if reidentify:
            link = self._session.get(SubjectLink, record.subject)
            item["account"] = (self._identify(link.subject_kind, link.subject_id)
                               if link is not None else None)
        return item
