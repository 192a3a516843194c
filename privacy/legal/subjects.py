"""Subject references: how a compliance record names a person without identifying them.

A reference is ``sbj_`` and the first 80 bits of a keyed HMAC (the pseudonym
keyring) under its own domain label, so it matches neither the access log's
subject pseudonyms nor the seats' device pseudonyms, and the compliance store,
holding no key, can never turn it back into anyone. The link from a reference
to an account is kept in the main store (``legal_subject_links``); only a
law-enforcement disclosure, approved by a second officer, follows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from privacy.legal.models import SubjectLink
from privacy.pseudonym import Pseudonymizer

DOMAIN = "legal-subject"
PREFIX = "sbj_"
HEX_DIGITS = 20


@dataclass(frozen=True)
class SubjectReference:
    """A record's subject: the reference, the key version that made it, and what it is."""

    value: str
    key_version: int
    kind: str


def reference(pseudonymizer: Pseudonymizer, kind: str, subject_id: str) -> SubjectReference:
    """The reference under the current key for the subject KIND:SUBJECT_ID."""
    pseudonym = pseudonymizer.pseudonym(DOMAIN, f"{kind}:{subject_id}")
    return SubjectReference(PREFIX + pseudonym.value[:HEX_DIGITS], pseudonym.key_version, kind)


def references(pseudonymizer: Pseudonymizer, kind: str, subject_id: str) -> list[str]:
    """Every reference the subject may be known by (one per key version)."""
    return [PREFIX + p.value[:HEX_DIGITS]
            for p in pseudonymizer.candidates(DOMAIN, f"{kind}:{subject_id}")]


def remember(connection: sa.Connection, subject: SubjectReference, subject_id: str,
             now: datetime) -> None:
    """Keep the link from SUBJECT to SUBJECT_ID in the main store (once per reference)."""
    table = SubjectLink.__table__
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    connection.execute(insert(table).values(
        subject=subject.value, subject_kind=subject.kind, subject_id=subject_id,
        created_at=now).on_conflict_do_nothing())
