"""The sharing matrix (shared policy, "With whom do we share"), as code.

A record may go to a recipient only if its lawful basis is Legal obligation
and one of its purpose tags allows the recipient's category. Each cell names
itself, so a refusal can say which rule refused. What a recipient receives is
minimised per category: the fields of FIELDS only.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import ValidationFailed
from privacy.legal.errors import DisclosureNotAllowed
from privacy.purposes import ANTI_PIRACY, EXPORT_COMPLIANCE, LEGAL_OBLIGATION

SOFTWARE_COMPANY = "software_company"
ANTI_PIRACY_ORG = "anti_piracy_org"
EXPORT_AUTHORITY = "export_authority"
LAW_ENFORCEMENT = "law_enforcement"


@dataclass(frozen=True)
class Cell:
    """Whether records of one tag may go to one category, and on what condition."""

    allowed: bool
    needs_legal_reference: bool = False
    pseudonymous: bool = True


MATRIX = {
    (SOFTWARE_COMPANY, ANTI_PIRACY): Cell(True),
    (ANTI_PIRACY_ORG, ANTI_PIRACY): Cell(True),
    (EXPORT_AUTHORITY, EXPORT_COMPLIANCE): Cell(True),
    (LAW_ENFORCEMENT, ANTI_PIRACY): Cell(True, needs_legal_reference=True, pseudonymous=False),
    (LAW_ENFORCEMENT, EXPORT_COMPLIANCE): Cell(True, needs_legal_reference=True,
                                              pseudonymous=False),
}

_TIMES = ("kind", "tags", "subject", "count", "first_seen_at", "last_seen_at")
# The affected vendor needs to know that its product was misused and how often,
# not where from; the others have a use for the country.
FIELDS = {
    SOFTWARE_COMPANY: _TIMES,
    ANTI_PIRACY_ORG: (*_TIMES, "country"),
    EXPORT_AUTHORITY: (*_TIMES, "country"),
    LAW_ENFORCEMENT: (*_TIMES, "country"),
}


def cell(category: str, tag: str) -> Cell:
    """The matrix cell for records tagged TAG going to CATEGORY (refused when absent)."""
    return MATRIX.get((category, tag), Cell(False))


def rule_text(category: str, tag: str) -> str:
    """How a person reads the cell: 'sharing matrix: anti_piracy -> anti_piracy_org: yes'."""
    found = cell(category, tag)
    verdict = "no" if not found.allowed else (
        "yes, needs a legal reference" if found.needs_legal_reference else "yes, pseudonymous")
    return f"sharing matrix: {tag} records -> {category}: {verdict}"


def check(record_id: str, tags: list[str], lawful_basis: str, category: str,
          reidentify: bool) -> None:
    """Refuse (403, naming the record and the rule) unless the matrix allows the disclosure."""
    if lawful_basis != LEGAL_OBLIGATION:
        raise DisclosureNotAllowed(f"Record {record_id} is not held under Legal obligation; "
                                   "only such records may be disclosed.")
    if not any(cell(category, tag).allowed for tag in tags):
        rules = "; ".join(rule_text(category, tag) for tag in tags)
        raise DisclosureNotAllowed(f"Record {record_id} may not go to a {category} recipient "
                                   f"({rules}).")
    if reidentify and category != LAW_ENFORCEMENT:
        raise DisclosureNotAllowed(f"Record {record_id} may be re-identified only for "
                                   f"law_enforcement, not for a {category} recipient "
                                   "(sharing matrix: re-identification).")


def require_legal_reference(category: str, legal_reference: str | None) -> None:
    """Law enforcement receives nothing without a legal reference (400)."""
    if category == LAW_ENFORCEMENT and not (legal_reference or "").strip():
        raise ValidationFailed(errors={"legal_reference": [
            "A law_enforcement disclosure needs a legal reference (order, case number)."]})


def minimised(category: str, record: dict) -> dict:
    """RECORD with only the fields CATEGORY may receive."""
    return {name: record[name] for name in FIELDS[category]}
