"""Tables of the legal-obligation engine.

``legal_records`` lives in the ``compliance`` database (``__bind_key__``): its
own file or database, with its own access rights, backups and retention. The
rest (recipients, disclosures, their outbox, and the links from subject
references to accounts) lives in the main store, so the compliance store holds
pseudonymous references only (GDPR Art 4(5): the additional information is
kept separately).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.database import UTCDateTime, db, new_id, one_of, utcnow
from privacy.purposes import (ANTI_PIRACY, EXPORT_COMPLIANCE, LEGAL_DISCLOSURE, STAFF_ACCESS,
                              not_personal, personal)

RECORD_STATUSES = ("open", "closed")
DISCLOSURE_STATUSES = ("awaiting_approval", "pending", "delivered", "failed")
RECIPIENT_CATEGORIES = ("software_company", "anti_piracy_org", "export_authority",
                        "law_enforcement")

_RECORD = personal("legal.record", ANTI_PIRACY, EXPORT_COMPLIANCE)
_LINK = personal("legal.subject_link", ANTI_PIRACY, EXPORT_COMPLIANCE)
_DISCLOSURE = personal("disclosure.record", LEGAL_DISCLOSURE)
_STAFF = personal("staff.identity", STAFF_ACCESS)
_RECIPIENT = not_personal("organisations that receive disclosures")


_OPEN = sa.text("status = 'open'")


class LegalRecord(db.Model):
    """One unlicensed-use or export-compliance record: repeats fold into its count."""

    __bind_key__ = "compliance"
    __tablename__ = "legal_records"
    __table_args__ = (
        # The upsert's conflict target: at most one open record per kind and subject.
        sa.Index("uq_legal_records_open_subject", "kind", "subject", unique=True,
                 sqlite_where=_OPEN, postgresql_where=_OPEN),
        sa.CheckConstraint(one_of("status", RECORD_STATUSES), name="status_known",
                           comment="a record is open or closed"),
        sa.CheckConstraint("count >= 1", name="count_positive",
                           comment="a record exists because something was seen"),
        {"comment": "unlicensed-use and export-compliance records (pseudonymous subjects)"},
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True,
                                    default=lambda: new_id("rec"), info=_RECORD)
    kind: Mapped[str] = mapped_column(sa.String(40), info=_RECORD)
    # The first of the tags, which decides retention; kept as a column to filter on.
    purpose: Mapped[str] = mapped_column(sa.String(40), index=True, info=_RECORD)
    tags: Mapped[list] = mapped_column(sa.JSON, info=_RECORD)
    lawful_basis: Mapped[str] = mapped_column(sa.String(24), info=_RECORD)
    # "sbj_" + a keyed HMAC under its own domain label: nothing in this store reverses it.
    subject: Mapped[str] = mapped_column(sa.String(24), index=True, info=_RECORD)
    subject_key_version: Mapped[int] = mapped_column(sa.Integer, info=_RECORD)
    license_id: Mapped[str | None] = mapped_column(sa.String(40), info=_RECORD)
    country: Mapped[str | None] = mapped_column(sa.String(2), info=_RECORD)
    evidence: Mapped[dict] = mapped_column(sa.JSON, info=_RECORD)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), info=_RECORD)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True, info=_RECORD)
    count: Mapped[int] = mapped_column(sa.Integer, info=_RECORD)
    status: Mapped[str] = mapped_column(sa.String(8), default="open", info=_RECORD)
    legal_hold: Mapped[bool] = mapped_column(sa.Boolean, default=False, info=_RECORD)
    hold_reason: Mapped[str | None] = mapped_column(sa.String(200), info=_RECORD)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=_RECORD)
    close_reason: Mapped[str | None] = mapped_column(sa.String(200), info=_RECORD)
    retain_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=_RECORD)


class SubjectLink(db.Model):
    """Which subject a record's reference stands for: the key to re-identify, kept apart."""

    __tablename__ = "legal_subject_links"
    __table_args__ = ({"comment": "subject reference -> account, outside the compliance store"},)

    subject: Mapped[str] = mapped_column(sa.String(24), primary_key=True, info=_LINK)
    subject_kind: Mapped[str] = mapped_column(sa.String(16), info=_LINK)
    subject_id: Mapped[str] = mapped_column(sa.String(64), index=True, info=_LINK)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=_LINK)


class Recipient(db.Model):
    """A third party that may receive disclosures, by category of the sharing matrix."""

    __tablename__ = "disclosure_recipients"
    __table_args__ = (
        sa.CheckConstraint(one_of("category", RECIPIENT_CATEGORIES), name="category_known",
                           comment="a category of the sharing matrix"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True,
                                    default=lambda: new_id("rcp"), info=_RECIPIENT)
    name: Mapped[str] = mapped_column(sa.String(200), info=_RECIPIENT)
    category: Mapped[str] = mapped_column(sa.String(32), info=_RECIPIENT)
    endpoint: Mapped[str] = mapped_column(sa.String(500), info=_RECIPIENT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                 info=_RECIPIENT)


class Disclosure(db.Model):
    """One disclosure of records to one recipient, from request to delivery."""

    __tablename__ = "disclosures"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", DISCLOSURE_STATUSES), name="status_known",
                           comment="awaiting_approval, pending, delivered or failed"),
        sa.CheckConstraint("approved_by IS NULL OR approved_by <> created_by",
                           name="four_eyes", comment="the creator never approves"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True,
                                    default=lambda: new_id("dis"), info=_DISCLOSURE)
    status: Mapped[str] = mapped_column(sa.String(20), index=True, info=_DISCLOSURE)
    recipient_id: Mapped[str] = mapped_column(sa.ForeignKey("disclosure_recipients.id"),
                                              index=True, info=_DISCLOSURE)
    record_ids: Mapped[list] = mapped_column(sa.JSON, info=_DISCLOSURE)
    legal_reference: Mapped[str | None] = mapped_column(sa.String(200), info=_DISCLOSURE)
    reidentify: Mapped[bool] = mapped_column(sa.Boolean, default=False, info=_DISCLOSURE)
    created_by: Mapped[str] = mapped_column(sa.String(80), info=_STAFF)
    approved_by: Mapped[str | None] = mapped_column(sa.String(80), info=_STAFF)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True,
                                                 info=_DISCLOSURE)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=_DISCLOSURE)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, info=_DISCLOSURE)
    last_error: Mapped[str | None] = mapped_column(sa.String(200), info=_DISCLOSURE)


class DisclosureSubject(db.Model):
    """A subject reference a disclosure concerned (for the subject's access report)."""

    __tablename__ = "disclosure_subjects"

    disclosure_id: Mapped[str] = mapped_column(
        sa.ForeignKey("disclosures.id", ondelete="CASCADE"), primary_key=True, info=_DISCLOSURE)
    subject: Mapped[str] = mapped_column(sa.String(24), primary_key=True, index=True,
                                         info=_DISCLOSURE)


class OutboxEntry(db.Model):
    """A signed disclosure waiting to be delivered; gone once delivered or given up."""

    __tablename__ = "disclosure_outbox"

    disclosure_id: Mapped[str] = mapped_column(
        sa.ForeignKey("disclosures.id", ondelete="CASCADE"), primary_key=True, info=_DISCLOSURE)
    # The compact JWS, as it will be POSTed: it may carry a re-identified account.
    token: Mapped[str] = mapped_column(sa.Text, info=_DISCLOSURE)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True,
                                                      info=_DISCLOSURE)
    # Set while one process is sending it, so two runs never send it at once.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=_DISCLOSURE)
