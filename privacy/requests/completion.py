"""What completing each kind of request does: the system carries it out, never a person.

Completion runs in the transaction that marks the request completed, so a
request is never marked done without its effect, nor the other way round.

- access, portability: the export is the subject's to download in the
  Customer Area; a notice tells them it is ready.
- rectification: every provider corrects the fields the subject named.
- erasure: the erasure service, as ``flask privacy erase-subject --commit``;
  the outcome lists what went and what was kept, for which purpose, on which
  lawful basis, why and until when.
- restriction: every provider marks the subject restricted.
- objection: the legitimate-interests purposes stop for the subject, unless
  compelling grounds are recorded, which reject the objection instead.
"""

from __future__ import annotations

from core.database import rfc3339, utcnow
from core.errors import ValidationFailed
from privacy.audit import Access
from privacy.erasure import ErasureService
from privacy.notices import NoticeService
from privacy.objections import ObjectionService
from privacy.providers import Kept, ProviderRegistry
from privacy.purposes import PURPOSES
from privacy.requests.details import unsealed
from privacy.requests.models import SubjectRequest

EXPORT_READY = ("Your data export is ready: download it in the Customer Area "
                "(privacy centre, or GET /v1/me/data?download=1).")


def kept_entry(kept: Kept) -> dict:
    """A kept item as the outcome states it, with the purpose's lawful basis."""
    return {"what": kept.what, "purpose": kept.purpose,
            "lawful_basis": PURPOSES.get(kept.purpose).lawful_basis, "why": kept.why,
            "until": kept.until}


class RequestCompletion:
    """Carry a request out through the providers and the privacy services."""

    def __init__(self, session, providers: ProviderRegistry, erasure: ErasureService,
                 notices: NoticeService, objections: ObjectionService, clock=utcnow):
        self._session = session
        self._providers = providers
        self._eraser = erasure
        self._notices = notices
        self._objections = objections
        self._clock = clock

    def _subject_providers(self, request: SubjectRequest):
        return self._providers.providers(self._session, request.subject_kind)

    def carry_out(self, request: SubjectRequest, access: Access,
                  compelling_grounds: str | None = None) -> tuple[str, dict]:
        """Do what REQUEST asks; the status it ends in and its outcome."""
        if compelling_grounds is not None and request.type != "objection":
            raise ValidationFailed(errors={"compelling_grounds": [
                "Only an objection can be answered with compelling grounds."]})
        action = getattr(self, "_" + request.type)
        if request.type == "objection":
            return action(request, compelling_grounds)
        if request.type == "erasure":
            return "completed", action(request, access)
        return "completed", action(request)

    def _access(self, request: SubjectRequest) -> dict:
        self._notices.queue(request.subject_kind, request.subject_id, "export_ready",
                            EXPORT_READY)
        return {"export": "available to the subject in the Customer Area",
                "sections": [p.name for p in self._subject_providers(request)]}

    _portability = _access

    def _rectification(self, request: SubjectRequest) -> dict:
        changes = unsealed(request.details)
        changed = []
        for provider in self._subject_providers(request):
            changed += provider.rectify(request.subject_id, changes)
        return {"changed": sorted(set(changed)), "unchanged": sorted(set(changes) - set(changed))}

    def _erasure(self, request: SubjectRequest, access: Access) -> dict:
        report = self._eraser.erase(request.subject_kind, request.subject_id, access)
        return {"erased": report.erased, "kept": [kept_entry(k) for k in report.kept]}

    def _restriction(self, request: SubjectRequest) -> dict:
        for provider in self._subject_providers(request):
            provider.restrict(request.subject_id, True)
        return {"restricted_at": rfc3339(self._clock()),
                "effect": "activation and refresh are refused until the restriction is lifted"}

    def _objection(self, request: SubjectRequest, compelling_grounds: str | None):
        if compelling_grounds:
            return "rejected", {"compelling_grounds": compelling_grounds}
        stopped = self._objections.uphold(request.subject_kind, request.subject_id, request.id)
        return "completed", {"stopped": stopped}
