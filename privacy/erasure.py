"""Erasure of one subject through every provider, and tombstones that survive a restore.

An erasure writes a tombstone (subject pseudonym, scope, time) to a store
that a database restore does not roll back: an append-only JSON-lines file
(``TESSERA_TOMBSTONE_PATH``, by default under the instance folder). After a
restore, ``flask privacy replay-erasures`` reads them back and erases every
subject they name that the restored database still holds.

The tombstone is written when the erasure's transaction commits, just before
the database commit: if the commit then fails, replaying the tombstone erases
a subject who asked to be erased; the other order could lose an erasure.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.database import rfc3339, utcnow
from core.errors import NotFound
from privacy import pseudonym as domains
from privacy.audit import Access, AccessAuditService, subject_pseudonym
from privacy.providers import Kept, ProviderRegistry
from privacy.pseudonym import Pseudonym, Pseudonymizer
from privacy.purposes import PRIVACY_RIGHTS, STAFF_ACCESS, processes
from privacy.subject_records import SubjectRecords

log = logging.getLogger("tessera.privacy.erasure")

_PENDING = "tessera.pending_tombstones"

# What every erasure leaves, whichever providers are registered.
ALWAYS_KEPT = (
    Kept("an erasure tombstone: a keyed pseudonym of your account id, what was erased and when",
         PRIVACY_RIGHTS, "so that a database restored from a backup is erased again",
         until="the last backup made before the erasure is destroyed"),
    Kept("access-log entries of staff reads of your data (pseudonymous; no name or email)",
         STAFF_ACCESS, "staff stay accountable for every read of a person's data "
         "(GDPR Art 5(2), 32)", until="12 months after each read"),
)


@dataclass(frozen=True)
class Tombstone:
    """The trace an erasure leaves: who (as a pseudonym), what, when."""

    pseudonym: str
    key_version: int
    subject_kind: str
    scope: tuple[str, ...]
    erased_at: datetime

    def to_line(self) -> str:
        return json.dumps({"pseudonym": self.pseudonym, "key_version": self.key_version,
                           "subject_kind": self.subject_kind, "scope": list(self.scope),
                           "erased_at": rfc3339(self.erased_at)}, separators=(",", ":"))

    @classmethod
    def from_line(cls, line: str) -> Tombstone:
        data = json.loads(line)
        return cls(data["pseudonym"], int(data["key_version"]), data["subject_kind"],
                   tuple(data["scope"]),
                   datetime.fromisoformat(data["erased_at"].replace("Z", "+00:00")))


class TombstoneFile:
    """An append-only JSON-lines file of tombstones, owner-readable only."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def append(self, tombstone: Tombstone) -> None:
        """Add TOMBSTONE durably (flushed to disk before this returns)."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, (tombstone.to_line() + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

    def __iter__(self) -> Iterator[Tombstone]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    yield Tombstone.from_line(line)
                except (ValueError, KeyError, TypeError):
                    # Only a write cut short by a crash can leave a torn line.
                    log.warning("tombstone line %d is unreadable; skipped", number)


def queue_tombstone(session, store: TombstoneFile, tombstone: Tombstone) -> None:
    """Write TOMBSTONE when SESSION's transaction commits (and not if it rolls back)."""
    session.info.setdefault(_PENDING, []).append((store, tombstone))


# Both events also fire for savepoints; only the outermost transaction decides.
@sa.event.listens_for(Session, "before_commit")
def _write_pending_tombstones(session) -> None:
    if session.in_nested_transaction():
        return
    for store, tombstone in session.info.pop(_PENDING, []):
        store.append(tombstone)


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_pending_tombstones(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


@dataclass
class ErasureReport:
    """What an erasure did for one subject."""

    subject_pseudonym: str
    erased: dict[str, list[str]] = field(default_factory=dict)
    kept: list[Kept] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"subject": self.subject_pseudonym, "erased": self.erased,
                "kept": [{"what": k.what, "purpose": k.purpose, "why": k.why,
                          "until": k.until} for k in self.kept]}


@dataclass
class ReplayReport:
    """What replaying the tombstones found and did."""

    tombstones: int = 0
    # Tombstones made under a pseudonym key that is no longer configured.
    unreadable: int = 0
    erased: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"tombstones": self.tombstones, "unreadable_tombstones": self.unreadable,
                "subjects_erased_again": len(self.erased), "subjects": self.erased}


class ErasureService:
    """Erase subjects through the registered providers and keep their tombstones."""

    def __init__(self, session, providers: ProviderRegistry, pseudonymizer: Pseudonymizer,
                 tombstones: TombstoneFile, clock=utcnow):
        self._session = session
        self._providers = providers
        self._pseudonyms = pseudonymizer
        self._tombstones = tombstones
        self._audit = AccessAuditService(session, pseudonymizer, providers, clock=clock)
        self._clock = clock

    def find_subject(self, reference: str) -> tuple[str, str]:
        """The (kind, id) of the subject a person's REFERENCE stands for."""
        found = self._providers.find_subject(self._session, reference)
        if found is None:
            raise NotFound("No subject matches that reference.")
        return found

    @processes(PRIVACY_RIGHTS)
    def erase(self, subject_kind: str, subject_id: str, access: Access) -> ErasureReport:
        """Erase SUBJECT_ID everywhere; its tombstone is written when the session commits."""
        pseudonym = subject_pseudonym(self._pseudonyms, subject_id)
        report = self._erase(subject_kind, subject_id, pseudonym, access, "privacy.erase")
        queue_tombstone(self._session, self._tombstones, Tombstone(
            pseudonym.value, pseudonym.key_version, subject_kind, tuple(report.erased),
            self._clock()))
        return report

    def _erase(self, subject_kind: str, subject_id: str, pseudonym: Pseudonym, access: Access,
               action: str) -> ErasureReport:
        # Recorded first, while the providers can still name what to scrub from the reason.
        self._audit.record_pseudonym(access, pseudonym, action, subject_id)
        report = ErasureReport(pseudonym.value)
        for provider in self._providers.providers(self._session, subject_kind):
            outcome = provider.erase(subject_id)
            report.erased[provider.name] = outcome.erased
            report.kept.extend(outcome.kept)
        own = SubjectRecords(self._session).erase(subject_kind, subject_id)
        report.erased[SubjectRecords.name] = own.erased
        report.kept.extend([*own.kept, *ALWAYS_KEPT])
        self._session.flush()
        return report

    @processes(PRIVACY_RIGHTS)
    def replay(self, access: Access) -> ReplayReport:
        """Erase again every subject a tombstone names that the database still holds."""
        wanted: dict[tuple[str, int], set[str]] = {}
        report = ReplayReport()
        for tombstone in self._tombstones:
            report.tombstones += 1
            if not self._pseudonyms.has_version(tombstone.key_version):
                report.unreadable += 1
                continue
            wanted.setdefault((tombstone.subject_kind, tombstone.key_version),
                              set()).add(tombstone.pseudonym)
        for kind, subject_id in self._subjects_named(wanted):
            pseudonym = subject_pseudonym(self._pseudonyms, subject_id)
            self._erase(kind, subject_id, pseudonym, access, "privacy.erase.replay")
            report.erased.append(pseudonym.value)
        return report

    def _subjects_named(self, wanted: dict[tuple[str, int], set[str]]) -> list[tuple[str, str]]:
        # Pseudonyms do not reverse: compute each live subject's under the versions named.
        found = []
        for kind in self._providers.subject_kinds():
            versions = {v: names for (k, v), names in wanted.items() if k == kind}
            if not versions:
                continue
            for provider in self._providers.providers(self._session, kind):
                found += [(kind, subject_id) for subject_id in provider.subject_ids()
                          if self._named(subject_id, versions)]
        return list(dict.fromkeys(found))

    def _named(self, subject_id: str, versions: dict[int, set[str]]) -> bool:
        for version, names in versions.items():
            pseudonym = self._pseudonyms.under(version, domains.SUBJECT, subject_id)
            if pseudonym is not None and pseudonym.value in names:
                return True
        return False
