"""The record of processing activities (GDPR Art 30), generated from the code.

Everything here is read from declarations the running code depends on: the
purposes registry, the ``personal(...)`` declarations on model columns (where
each purpose's data is stored) and the retention rules the purge job applies
(whether each retention period is enforced by code or still by procedure).
"""

from __future__ import annotations

import sqlalchemy as sa

from privacy.purposes import (CATEGORIES, LAWFUL_BASES, RECIPIENTS, SUBJECTS, Purpose,
                              PurposeRegistry, declaration)

SECURITY_MEASURES = (
    "Device IDs, emails used for look-up, activation codes and staff tokens are stored only "
    "as keyed HMAC-SHA256 pseudonyms with a versioned, rotatable key (Art 4(5), 32(1)(a)).",
    "Email, name, company and device label are encrypted at rest with AES-256-GCM under a "
    "rotatable keyring; the key id travels in the ciphertext.",
    "Passwords are argon2id hashes with parameters above the OWASP ASVS minimum.",
    "Client IP addresses stay in memory: only the country and a /24 or /48 prefix are kept, "
    "the prefix for 30 days.",
    "Every read of one subject's data by a person is recorded in the access log (who, role, "
    "purpose, reason, time), which holds no raw personal data.",
    "Retention periods are applied by `flask privacy purge`; erasures leave tombstones that "
    "are replayed after a backup restore.",
    "Logs carry request ids, never raw identifiers, credentials or codes.",
    "Unlicensed-use and export-compliance records live in a separate store holding "
    "pseudonyms only.",
)

TRANSFERS = ("Processed on the vendor's or its providers' servers in Belgium or other countries "
             "where they do business, under contractual safeguards (privacy policy: Where is "
             "your information processed?).")


def stored_in(metadata: sa.MetaData) -> dict[str, list[str]]:
    """For each purpose, the table.column places whose declaration names it."""
    places: dict[str, list[str]] = {}
    for table in metadata.sorted_tables:
        for column in table.columns:
            declared = declaration(column)
            for purpose in (declared.purposes if declared else ()):
                places.setdefault(purpose, []).append(f"{table.name}.{column.name}")
    return places


def _described(keys, table: dict) -> list[dict]:
    return [{"key": key, "description": table[key]} for key in keys]


def _purpose(purpose: Purpose, places: list[str], enforced: set[tuple[str, str]]) -> dict:
    return {
        "key": purpose.key,
        "description": purpose.description,
        "lawful_basis": purpose.lawful_basis,
        "lawful_basis_text": LAWFUL_BASES[purpose.lawful_basis],
        "data_categories": _described(purpose.data_categories, CATEGORIES),
        "data_subjects": _described(purpose.data_subjects, SUBJECTS),
        "retention": {
            "summary": purpose.retention,
            "periods": [{"key": p.key, "applies_to": p.applies_to, "days": p.days,
                         "after": p.after, "action": p.action,
                         "enforced_by_purge": (purpose.key, p.key) in enforced}
                        for p in purpose.periods],
        },
        "recipients": _described(purpose.recipients, RECIPIENTS),
        "policy_clause": purpose.policy_clause,
        "stored_in": places,
    }


def record_of_processing(purposes: PurposeRegistry, metadata: sa.MetaData, rules: list,
                         controller: dict) -> dict:
    """The whole record as one JSON-ready document."""
    places = stored_in(metadata)
    enforced = {(rule.purpose, rule.period) for rule in rules if rule.purpose}
    return {
        "controller": controller,
        "purposes": [_purpose(p, places.get(p.key, []), enforced) for p in purposes],
        "transfers": TRANSFERS,
        "security_measures": list(SECURITY_MEASURES),
    }


def as_text(document: dict) -> str:
    """The record for people to read."""
    controller = document["controller"]
    lines = [f"Record of processing activities — {controller['name']} ({controller['contact']})"]
    for purpose in document["purposes"]:
        retention = purpose["retention"]
        lines += [
            "",
            f"{purpose['key']}: {purpose['description']}",
            f"  lawful basis: {purpose['lawful_basis_text']}",
            "  data: " + "; ".join(c["description"] for c in purpose["data_categories"]),
            "  subjects: " + "; ".join(s["description"] for s in purpose["data_subjects"]),
            f"  retention: {retention['summary']}",
            *(f"    {p['applies_to']}: {p['days'] if p['days'] is not None else '—'} days after "
              f"{p['after']}, then {p['action']}"
              f"{' (enforced by purge)' if p['enforced_by_purge'] else ''}"
              for p in retention["periods"]),
            "  recipients: " + "; ".join(r["description"] for r in purpose["recipients"]),
            f"  policy: {purpose['policy_clause']}",
            "  stored in: " + (", ".join(purpose["stored_in"]) or "no table yet"),
        ]
    return "\n".join(lines)


def controller(config) -> dict:
    """The controller named in the record of processing, from the app's config."""
    return {"name": config["TESSERA_CONTROLLER_NAME"],
            "contact": config["TESSERA_CONTROLLER_CONTACT"]}
