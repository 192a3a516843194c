"""Lifting a restriction (GDPR Art 18(3)): the subject is told first, then processing resumes."""

from __future__ import annotations

from core.database import rfc3339, utcnow
from core.errors import Conflict
from privacy.audit import Access, AccessAuditService
from privacy.notices import NoticeService
from privacy.providers import ProviderRegistry
from privacy.purposes import PRIVACY_RIGHTS, processes

LIFTING = ("The restriction of processing you asked for is being lifted: activation and "
           "refresh of your licenses work again from now on. If you still contest the "
           "accuracy or lawfulness of the processing, file a new restriction request.")


class RestrictionService:
    """Lift a subject's restriction, with the notice that must come before it."""

    def __init__(self, session, providers: ProviderRegistry, notices: NoticeService,
                 audit: AccessAuditService, clock=utcnow):
        self._session = session
        self._providers = providers
        self._notices = notices
        self._audit = audit
        self._clock = clock

    @processes(PRIVACY_RIGHTS)
    def lift(self, subject_kind: str, subject_id: str, access: Access) -> dict:
        """Queue the notice to the subject, then lift the restriction everywhere."""
        providers = self._providers.providers(self._session, subject_kind)
        if not any(provider.restricted(subject_id) for provider in providers):
            raise Conflict("Processing of this account is not restricted.")
        self._audit.record(access, subject_id, "privacy.restriction.lift")
        notice = self._notices.queue(subject_kind, subject_id, "restriction_lifted", LIFTING)
        for provider in providers:
            provider.restrict(subject_id, False)
        self._session.flush()
        return {"account": subject_id, "restricted": False, "notice": notice.id,
                "lifted_at": rfc3339(self._clock())}
