"""The access audit: every read of one subject's data by a person is recorded.

Who (actor and role), which subject (as a pseudonym, never a name or email),
under which purpose, why (ticket or text) and when. The log itself holds no
raw personal data, so it can be kept and shown without becoming a second copy
of what it protects.
"""

from __future__ import annotations

import getpass
import re
from dataclasses import dataclass

import sqlalchemy as sa

from core.database import utcnow
from core.errors import NotFound, ValidationFailed
from privacy import pseudonym as domains
from privacy.models import AccessLogEntry
from privacy.providers import ProviderRegistry
from privacy.pseudonym import Pseudonym, Pseudonymizer
from privacy.purposes import PURPOSES, PurposeRegistry, UnknownPurpose
from privacy.redaction import REDACTED, redact

REASON_LENGTH = (3, 200)
MAX_ENTRIES = 1000
_PSEUDONYM_FORM = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Actor:
    """A person acting on personal data: a staff member, or an operator at the CLI."""

    id: str
    role: str

    @classmethod
    def operator(cls) -> Actor:
        """The person running a CLI command, by operating-system user."""
        return cls(id=f"cli:{getpass.getuser()}"[:80], role="operator")


@dataclass(frozen=True)
class Access:
    """Who reads a subject's data, under which purpose, and why."""

    actor: Actor
    purpose: str
    reason: str
    request_id: str | None = None


def subject_pseudonym(pseudonymizer: Pseudonymizer, subject_id: str) -> Pseudonym:
    """The pseudonym a subject is known by in the log and in tombstones."""
    return pseudonymizer.pseudonym(domains.SUBJECT, subject_id)


def _refuse_reason(field: str, message: str | None = None) -> ValidationFailed:
    low, high = REASON_LENGTH
    return ValidationFailed(errors={field: [
        message or f"A reason (ticket or text, {low}..{high} chars) is required."]})


def clean_reason(reason: str | None, field: str = "reason", known: list[str] = ()) -> str:
    """The reason as stored: trimmed, 3..200 characters as given, scrubbed of identifiers.

    The length rule holds for what was sent, before redaction: a long paste
    must not pass by redacting to a short marker. KNOWN are the subject's own
    identifying strings (name, email...): staff sometimes type them into a
    reason, and no pattern can recognise a name.
    """
    text = (reason or "").strip()
    low, high = REASON_LENGTH
    if not low <= len(text) <= high:
        raise _refuse_reason(field)
    text = redact(text)
    words = {w for value in known for w in re.split(r"[\s@.,;:()<>\"']+", value) if len(w) >= 3}
    for value in sorted({*known, *words}, key=len, reverse=True):
        text = re.sub(re.escape(value), REDACTED, text, flags=re.IGNORECASE)
    if not re.search(r"\w", text.replace(REDACTED, "")):
        raise _refuse_reason(field, "The reason holds nothing but identifiers; say why "
                                    "(a ticket reference or text).")
    # A marker may be longer than what it replaced; the column holds 200.
    return text[:high]


def reason_from_header(value: str | None, field: str) -> str:
    """A reason sent in an HTTP header, as clean_reason stores it.

    WSGI hands header values over as latin-1 text (PEP 3333); clients send
    UTF-8, so the bytes are read again as UTF-8.
    """
    try:
        value = value.encode("latin-1").decode("utf-8") if value else value
    except UnicodeEncodeError:
        pass  # not from a WSGI server's latin-1: already text
    except UnicodeDecodeError as exc:
        raise _refuse_reason(field, "The reason is not valid UTF-8.") from exc
    return clean_reason(value, field)


class AccessAuditService:
    """Record and list reads of a subject's personal data."""

    def __init__(self, session, pseudonymizer: Pseudonymizer,
                 providers: ProviderRegistry | None = None,
                 purposes: PurposeRegistry = PURPOSES, clock=utcnow):
        self._session = session
        self._pseudonyms = pseudonymizer
        self._providers = providers or ProviderRegistry()
        self._purposes = purposes
        self._clock = clock

    def record(self, access: Access, subject_id: str, action: str) -> AccessLogEntry:
        """Log that ACCESS read SUBJECT_ID's data to do ACTION."""
        return self.record_pseudonym(access, subject_pseudonym(self._pseudonyms, subject_id),
                                     action, subject_id)

    def record_pseudonym(self, access: Access, subject: Pseudonym, action: str,
                         subject_id: str | None = None) -> AccessLogEntry:
        """Log that ACCESS read the data of the subject known by the pseudonym SUBJECT."""
        if access.purpose not in self._purposes:
            raise UnknownPurpose(access.purpose)
        known = (self._providers.identifying_values(self._session, subject_id)
                 if subject_id else [])
        entry = AccessLogEntry(
            occurred_at=self._clock(), actor=access.actor.id, actor_role=access.actor.role,
            subject_pseudonym=subject.value, subject_key_version=subject.key_version,
            purpose=access.purpose, action=action,
            reason=clean_reason(access.reason, known=known), request_id=access.request_id)
        self._session.add(entry)
        self._session.flush()
        return entry

    def pseudonyms_of(self, subject_id: str) -> list[str]:
        """Every pseudonym SUBJECT_ID may be logged under (one per key version)."""
        return [p.value for p in self._pseudonyms.candidates(domains.SUBJECT, subject_id)]

    def entries(self, pseudonyms: list[str], limit: int = 200) -> list[AccessLogEntry]:
        """The newest entries about the subject known by PSEUDONYMS."""
        return list(self._session.scalars(
            sa.select(AccessLogEntry)
            .where(AccessLogEntry.subject_pseudonym.in_(pseudonyms))
            .order_by(AccessLogEntry.occurred_at.desc(), AccessLogEntry.id.desc())
            .limit(min(limit, MAX_ENTRIES))))

    def read_log(self, access: Access, reference: str,
                 limit: int = 200) -> tuple[Pseudonym, list[AccessLogEntry]]:
        """The entries about the subject REFERENCE names; reading them is itself logged."""
        subject, subject_id, pseudonyms = self.resolve(reference)
        entries = self.entries(pseudonyms, limit)
        # Reading someone's access log is itself a read of their data.
        self.record_pseudonym(access, subject, "privacy.access_log.read", subject_id)
        return subject, entries

    def resolve(self, reference: str) -> tuple[Pseudonym, str | None, list[str]]:
        """The subject's pseudonym, id (if still held) and every pseudonym to search by.

        REFERENCE is whatever a person has: a username, account id or email
        (resolved through the providers), or a subject pseudonym itself, which
        is all that is left of an erased subject.
        """
        if _PSEUDONYM_FORM.fullmatch(reference):
            version = self._session.scalar(
                sa.select(AccessLogEntry.subject_key_version)
                .where(AccessLogEntry.subject_pseudonym == reference).limit(1))
            pseudonym = Pseudonym(reference, version or self._pseudonyms.current_version)
            return pseudonym, None, [reference]
        found = self._providers.find_subject(self._session, reference)
        if found is None:
            raise NotFound("No subject matches that reference.")
        subject_id = found[1]
        return (subject_pseudonym(self._pseudonyms, subject_id), subject_id,
                self.pseudonyms_of(subject_id))
