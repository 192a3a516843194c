"""The subject-access and portability report (GDPR Art 15, 20), built from the registries.

The subject's data comes from every personal-data provider registered for
the subject's kind, so a package that registers data appears here without
this module knowing it. What the data is for, on which lawful basis, how
long it is kept, who receives it and where it came from comes from the
purposes registry, the same declarations the record of processing prints.
The access log adds which staff roles read the subject's data, when and why
(the purpose), without naming the member of staff. The privacy engine's own
records (requests, consents, notices, objections) come next, and every
provider that defines ``disclosures(subject_id)`` adds the disclosures made
about the subject (Art 15(1)(c)).
"""

from __future__ import annotations

from core.database import rfc3339, utcnow
from privacy.audit import MAX_ENTRIES, AccessAuditService
from privacy.providers import ACCOUNT, ProviderRegistry
from privacy.purposes import (CATEGORIES, LAWFUL_BASES, PRIVACY_RIGHTS, PURPOSES, RECIPIENTS,
                              SOURCES, Purpose, PurposeRegistry, processes)
from privacy.ropa import TRANSFERS
from privacy.subject_records import SubjectRecords

# The people a kind of subject is, in the purposes registry's terms.
DATA_SUBJECTS = {ACCOUNT: "customer"}

RIGHTS = (
    "access and portability: this report, in a machine-readable form (GDPR Art 15, 20)",
    "rectification of inaccurate data (Art 16)",
    "erasure (Art 17); records a Legal-obligation purpose must keep stay, pseudonymous, "
    "until their own retention ends, and you are told which and why",
    "restriction of processing: your data is stored but not processed (Art 18)",
    "objection to processing based on legitimate interests (Art 21)",
    "withdrawal of consent at any time, as easily as it was given (Art 7(3))",
    "a complaint to a data-protection supervisory authority (Art 77)",
)


def _purpose(purpose: Purpose) -> dict:
    return {
        "key": purpose.key,
        "description": purpose.description,
        "lawful_basis": purpose.lawful_basis,
        "lawful_basis_text": LAWFUL_BASES[purpose.lawful_basis],
        "data_categories": [{"key": key, "description": CATEGORIES[key],
                             "source": SOURCES[key]} for key in purpose.data_categories],
        "retention": {"summary": purpose.retention,
                      "periods": [{"applies_to": p.applies_to, "days": p.days,
                                   "after": p.after, "action": p.action}
                                  for p in purpose.periods]},
        "recipients": [{"key": key, "description": RECIPIENTS[key]}
                       for key in purpose.recipients],
        "policy_clause": purpose.policy_clause,
    }


class SubjectAccessService:
    """Everything held about one subject, with why, how long, for whom and from where."""

    def __init__(self, session, providers: ProviderRegistry, audit: AccessAuditService,
                 purposes: PurposeRegistry = PURPOSES, clock=utcnow):
        self._session = session
        self._providers = providers
        self._audit = audit
        self._purposes = purposes
        self._clock = clock

    def purposes_for(self, subject_kind: str) -> list[Purpose]:
        """The purposes that process data about this kind of subject."""
        people = DATA_SUBJECTS.get(subject_kind, subject_kind)
        return [p for p in self._purposes if people in p.data_subjects]

    @processes(PRIVACY_RIGHTS)
    def report(self, subject_kind: str, subject_id: str, controller: dict) -> dict:
        """The report for SUBJECT_ID, as JSON-ready data."""
        purposes = self.purposes_for(subject_kind)
        recipients = dict.fromkeys(key for p in purposes for key in p.recipients)
        providers = self._providers.providers(self._session, subject_kind)
        return {
            "subject": {"kind": subject_kind, "id": subject_id},
            "generated_at": rfc3339(self._clock()),
            "controller": controller,
            "data": {provider.name: provider.export(subject_id) for provider in providers},
            **SubjectRecords(self._session).export(subject_kind, subject_id),
            "disclosures": [disclosure for provider in providers
                            if hasattr(provider, "disclosures")
                            for disclosure in provider.disclosures(subject_id)],
            "access_log": self._access_log(subject_id),
            "purposes": [_purpose(p) for p in purposes],
            "recipients": [{"key": key, "description": RECIPIENTS[key]} for key in recipients],
            "transfers": TRANSFERS,
            "rights": list(RIGHTS),
        }

    def _access_log(self, subject_id: str) -> list[dict]:
        entries = self._audit.entries(self._audit.pseudonyms_of(subject_id), MAX_ENTRIES)
        return [{"occurred_at": rfc3339(e.occurred_at), "actor_role": e.actor_role,
                 "purpose": e.purpose, "action": e.action} for e in entries]
