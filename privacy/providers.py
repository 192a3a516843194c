"""Personal-data providers: how each package exports, rectifies, erases and restricts.

``privacy`` knows nothing about licenses. A package that holds personal data
registers a provider for the kind of subject it holds data about (``account``)
together with the retention rules of its tables, the way a Fides dataset
declares itself to its request engine; subject-rights services and the purge
job then work through the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Mapping, Protocol

ACCOUNT = "account"


@dataclass(frozen=True)
class Kept:
    """Data an erasure leaves in place, the purpose that needs it, and why."""

    what: str
    purpose: str
    why: str
    # When it goes: a date, or the event its retention runs from.
    until: str | None = None


@dataclass
class ErasureOutcome:
    """What one provider erased for one subject, and what it had to keep."""

    erased: list[str] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)


class PersonalDataProvider(Protocol):
    """One package's personal data about one kind of subject."""

    name: str
    subject_kind: str

    def find_subject(self, reference: str) -> str | None:
        """The subject id a person's reference (username, email, id) stands for."""

    def subject_ids(self) -> Iterator[str]:
        """Every subject that still holds data here (for replaying erasures)."""

    def identifying_values(self, subject_id: str) -> list[str]:
        """The subject's own identifying strings (name, email...), to scrub from free text."""

    def export(self, subject_id: str) -> dict:
        """All the subject's data here, machine-readable (Art 15, 20)."""

    def rectify(self, subject_id: str, changes: Mapping[str, str | None]) -> list[str]:
        """Correct the subject's data; return the fields changed (Art 16)."""

    def erase(self, subject_id: str) -> ErasureOutcome:
        """Erase the subject's data, keeping what a purpose still needs (Art 17)."""

    def restrict(self, subject_id: str, restricted: bool) -> None:
        """Store but stop processing the subject's data, or lift that (Art 18)."""

    def restricted(self, subject_id: str) -> bool:
        """Whether processing of the subject's data is restricted here."""

    # Optional: a provider that discloses data to third parties also defines
    #     def disclosures(self, subject_id: str) -> list[dict]
    # (recipient category, time, legal reference); the access report lists them (Art 15(1)(c)).


@dataclass(frozen=True)
class Registration:
    """A provider as registered: how to build it on a session, and its retention rules."""

    name: str
    subject_kind: str
    factory: Callable[[object], PersonalDataProvider]
    retention_rules: tuple = ()


class ProviderRegistry:
    """The providers of one application, in registration order."""

    def __init__(self):
        self._registrations: list[Registration] = []

    def register(self, name: str, subject_kind: str,
                 factory: Callable[[object], PersonalDataProvider],
                 retention_rules: Iterable = ()) -> None:
        """Add a provider NAME for SUBJECT_KIND, built by FACTORY(session)."""
        if any(r.name == name for r in self._registrations):
            raise ValueError(f"a personal-data provider {name!r} is already registered")
        self._registrations.append(
            Registration(name, subject_kind, factory, tuple(retention_rules)))

    def providers(self, session, subject_kind: str | None = None) -> list[PersonalDataProvider]:
        """The providers (of SUBJECT_KIND, or all), built on SESSION."""
        return [r.factory(session) for r in self._registrations
                if subject_kind is None or r.subject_kind == subject_kind]

    def find_subject(self, session, reference: str) -> tuple[str, str] | None:
        """The (kind, id) of the subject a person's REFERENCE stands for, if any."""
        for registration in self._registrations:
            subject_id = registration.factory(session).find_subject(reference)
            if subject_id is not None:
                return registration.subject_kind, subject_id
        return None

    def identifying_values(self, session, subject_id: str) -> list[str]:
        """Every provider's identifying strings for SUBJECT_ID."""
        return [value for registration in self._registrations
                for value in registration.factory(session).identifying_values(subject_id)]

    def subject_kinds(self) -> list[str]:
        """Every kind of subject some provider holds data about."""
        return list(dict.fromkeys(r.subject_kind for r in self._registrations))

    def retention_rules(self) -> list:
        """Every provider's retention rules, in registration order."""
        return [rule for r in self._registrations for rule in r.retention_rules]

    def __iter__(self):
        return iter(self._registrations)
