"""The legal-obligation engine as a personal-data provider, and its retention rules.

Export: the disclosures that concerned the subject (recipient category, time,
legal reference: GDPR Art 15(1)(c)). Erasure keeps the records and
disclosures (Art 17(3)(b),(e)): they are pseudonymous and stay until their own
retention ends, and the outcome says so; the link from the subject's
references to the account goes, so nobody can re-identify them afterwards.
"""

from __future__ import annotations

from typing import Iterator, Mapping

import sqlalchemy as sa

from core.database import rfc3339
from privacy.legal.models import (Disclosure, DisclosureSubject, LegalRecord, Recipient,
                                  SubjectLink)
from privacy.legal.records import retention_days
from privacy.legal.subjects import references
from privacy.providers import ACCOUNT, ErasureOutcome, Kept, ProviderRegistry
from privacy.pseudonym import Pseudonymizer
from privacy.purposes import (ANTI_PIRACY, EXPORT_COMPLIANCE, LEGAL_DISCLOSURE, PRIVACY_RIGHTS,
                              processes)
from privacy.retention import RetentionRule

NAME = "legal"
_records = LegalRecord.__table__
_disclosures = Disclosure.__table__
_unheld = _records.c.legal_hold == sa.false()

RETENTION_RULES = (
    RetentionRule(
        "legal_records.anti_piracy", _records,
        lambda cutoff: sa.and_(_records.c.purpose == ANTI_PIRACY, _records.c.status == "closed",
                               _records.c.closed_at < cutoff, _unheld),
        purpose=ANTI_PIRACY, period="case",
        description="unlicensed-use records whose case closed 3 years ago, unless on hold"),
    RetentionRule(
        "legal_records.export", _records,
        lambda cutoff: sa.and_(_records.c.purpose == EXPORT_COMPLIANCE,
                               _records.c.last_seen_at < cutoff, _unheld),
        purpose=EXPORT_COMPLIANCE, period="screening",
        description="export-compliance records last seen 5 years ago, unless on hold"),
    RetentionRule(
        "disclosures.expired", _disclosures,
        lambda cutoff: _disclosures.c.created_at < cutoff,
        purpose=LEGAL_DISCLOSURE, period="disclosure",
        description="disclosures made more than 5 years ago"),
)


class LegalPersonalData:
    """Compliance records and disclosures about one account."""

    name = NAME
    subject_kind = ACCOUNT

    def __init__(self, session, pseudonymizer: Pseudonymizer):
        self._session = session
        self._pseudonyms = pseudonymizer

    def _linked(self, subject_id: str) -> list[str]:
        candidates = references(self._pseudonyms, ACCOUNT, subject_id)
        return list(self._session.scalars(sa.select(SubjectLink.subject).where(
            SubjectLink.subject.in_(candidates), SubjectLink.subject_id == subject_id)))

    def find_subject(self, reference: str) -> str | None:
        return None  # accounts are found by the package that holds them

    def subject_ids(self) -> Iterator[str]:
        return iter(())

    def identifying_values(self, subject_id: str) -> list[str]:
        return []

    @processes(PRIVACY_RIGHTS)
    def export(self, subject_id: str) -> dict:
        """The disclosures that concerned the account, without the records' contents."""
        rows = self._session.execute(
            sa.select(Recipient.category, Disclosure.created_at, Disclosure.delivered_at,
                      Disclosure.legal_reference, Disclosure.status)
            .join(Recipient, Disclosure.recipient_id == Recipient.id)
            .join(DisclosureSubject, DisclosureSubject.disclosure_id == Disclosure.id)
            .where(DisclosureSubject.subject.in_(self._linked(subject_id)))
            .order_by(Disclosure.created_at))
        return {"disclosures": [
            {"recipient_category": category, "disclosed_at": rfc3339(delivered or created),
             "legal_reference": reference, "status": status}
            for category, created, delivered, reference, status in rows]}

    def rectify(self, subject_id: str, changes: Mapping[str, str | None]) -> list[str]:
        return []  # records state what was observed; they are not corrected

    @processes(PRIVACY_RIGHTS)
    def erase(self, subject_id: str) -> ErasureOutcome:
        """Drop the links to the account; keep the pseudonymous records and disclosures."""
        candidates = references(self._pseudonyms, ACCOUNT, subject_id)
        counts = dict(self._session.execute(
            sa.select(LegalRecord.purpose, sa.func.count()).where(
                LegalRecord.subject.in_(candidates)).group_by(LegalRecord.purpose)).all())
        disclosed = self._session.scalar(
            sa.select(sa.func.count(sa.distinct(DisclosureSubject.disclosure_id)))
            .where(DisclosureSubject.subject.in_(candidates)))
        links = self._session.execute(sa.delete(SubjectLink).where(
            SubjectLink.subject_id == subject_id).execution_options(
                synchronize_session=False)).rowcount
        return ErasureOutcome(erased=[f"{links} link(s) from compliance records to the account"],
                              kept=_kept(counts, disclosed))

    def restrict(self, subject_id: str, restricted: bool) -> None:
        return None  # a Legal obligation goes on under restriction (Art 18(2))

    def restricted(self, subject_id: str) -> bool:
        """Never: restriction does not stop processing under a Legal obligation."""
        return False


def _kept(counts: dict, disclosed: int) -> list[Kept]:
    kept = []
    for purpose, what in ((ANTI_PIRACY, "unlicensed-use record(s)"),
                          (EXPORT_COMPLIANCE, "export-compliance record(s)")):
        if counts.get(purpose):
            kept.append(Kept(
                f"{counts[purpose]} {what}, pseudonymous", purpose,
                "Legal obligation (GDPR Art 17(3)(b),(e)); kept until "
                f"{retention_days(purpose)} days after "
                + ("the case closes" if purpose == ANTI_PIRACY else "the last screening")
                + ", no longer linkable to you"))
    if disclosed:
        kept.append(Kept(f"{disclosed} disclosure record(s)", LEGAL_DISCLOSURE,
                         "Legal obligation (GDPR Art 17(3)(b)): what was disclosed to whom is "
                         "kept 5 years after the disclosure"))
    return kept


def register(providers: ProviderRegistry, pseudonymizer: Pseudonymizer) -> None:
    """Declare the legal-obligation engine's data and retention to the provider registry."""
    providers.register(NAME, ACCOUNT, lambda session: LegalPersonalData(session, pseudonymizer),
                       RETENTION_RULES)
