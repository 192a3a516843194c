"""The purposes registry: every processing of personal data, declared once.

This is the record of processing activities (GDPR Art 30): `flask privacy
ropa` and `GET /v1/privacy/ropa` are generated from it, so the record cannot
drift from the code. Each purpose comes from a row of shared/POLICY.md and
names its lawful basis, data categories, data subjects, retention, recipients
and the policy clause it rests on.

Code declares against it in two places:

* every model column says whether it holds personal data and, if so, its
  category and the purposes it serves (``info=personal(...)``); a test fails
  on a column that says nothing, and on a category a purpose does not list;
* services that touch personal data name their purpose with ``@processes``,
  which refuses an undeclared purpose at import time and tags the log lines
  written while the service runs.
"""

from __future__ import annotations

import contextvars
import functools
from dataclasses import dataclass

CONTRACT = "contract"
LEGITIMATE_INTERESTS = "legitimate_interests"
CONSENT = "consent"
LEGAL_OBLIGATION = "legal_obligation"
LAWFUL_BASES = {
    CONTRACT: "Contract (GDPR Art 6(1)(b))",
    LEGITIMATE_INTERESTS: "Legitimate interests (GDPR Art 6(1)(f))",
    CONSENT: "Consent (GDPR Art 6(1)(a))",
    LEGAL_OBLIGATION: "Legal obligation (GDPR Art 6(1)(c))",
}

LICENSE_ACTIVATION = "license.activation"
LICENSE_REFRESH = "license.refresh"
LICENSE_COMPLIANCE = "license.compliance"
SUPPORT = "support"
EXPORT_COMPLIANCE = "export.compliance"
ANTI_PIRACY = "anti_piracy"
LEGAL_DISCLOSURE = "legal.disclosure"
PRIVACY_RIGHTS = "privacy.rights"
MARKETING = "marketing"
STAFF_ACCESS = "staff.access"

CATEGORIES = {
    "account.identifier": "account id and username",
    "account.credential": "password, kept only as an argon2id hash",
    "account.contact": "email, name and company (vault-encrypted) and the email's blind index",
    "account.country": "country declared on the account",
    "account.record": "account creation time and restriction and erasure markers",
    "account.session": "Customer Area sign-ins: when each began and ends (the token only as HMAC)",
    "license.holding": "licenses held: product, kind, term, seats, entitlements",
    "activation.code": "activation codes paired with licenses, kept only as HMAC",
    "device.pseudonym": "device ID as a keyed HMAC pseudonym and its key version",
    "device.public_key": "the device's public proof key and its thumbprint",
    "device.label": "device name (vault-encrypted) and platform",
    "seat.usage": "activation, last refresh and release times of a seat",
    "network.country": "country a request comes from",
    "network.ip_prefix": "IP address truncated to /24 (IPv4) or /48 (IPv6)",
    "screening.result": "outcome of export-control screening",
    "unlicensed_use.evidence": "evidence of unlicensed use (pseudonymous)",
    "disclosure.record": "what a disclosure carried, to whom, on what legal reference",
    "request.record": "a data-protection request, its deadline and outcome",
    "notice.record": "notices the service sent you about your rights (a restriction lifted, "
                     "an export ready)",
    "objection.record": "your objection to a legitimate-interests purpose, and when it began",
    "erasure.tombstone": "pseudonym, scope and time of an erasure, for replay after a restore",
    "consent.record": "consent given or withdrawn, and when",
    "access.audit": "who read a subject's data, when, why and under which purpose",
    "staff.identity": "staff name, role and token (kept only as HMAC)",
}

SUBJECTS = {
    "customer": "Customer Area account holders",
    "device_user": "people using a licensed device",
    "staff": "the vendor's support, compliance and privacy staff",
}

RECIPIENTS = {
    "hosting_provider": "hosting provider (processor; only what hosting needs)",
    "support_provider": "customer support service providers (processors)",
    "email_provider": "email delivery provider (processor)",
    "software_company": "software companies affected by unlicensed use (pseudonymous)",
    "anti_piracy_org": "organisations set up to counter software theft (pseudonymous)",
    "export_authority": "export-control authorities",
    "law_enforcement": "law enforcement and authorities, on a legal reference",
    "supervisory_authority": "data-protection supervisory authorities, on request",
}

# Where each category comes from, as the access report tells the subject (GDPR Art 15(1)(g)).
SOURCES = {
    "account.identifier": "you, at registration (the account id is made by the service)",
    "account.credential": "you, when you set your password",
    "account.contact": "you, at registration or when you had it corrected",
    "account.country": "you, at registration or when you had it corrected",
    "account.record": "the service, when the account was created, restricted or erased",
    "account.session": "the service, when you sign in to the Customer Area",
    "license.holding": "the vendor, when it issued or changed your licenses",
    "activation.code": "the vendor, when it issued a code for one of your licenses",
    "device.pseudonym": "your device, at activation and refresh",
    "device.public_key": "your device, at activation",
    "device.label": "your device, at activation",
    "seat.usage": "the service, at each activation, refresh and release",
    "network.country": "derived from the address your device connected from",
    "network.ip_prefix": "the address your device connected from, truncated",
    "screening.result": "the service's export-control screening",
    "unlicensed_use.evidence": "the service's checks of activations and refreshes",
    "disclosure.record": "the service, when a record about you was disclosed",
    "request.record": "you, when you made a data-protection request",
    "notice.record": "the service, when it acted on your request",
    "objection.record": "you, when you objected to a processing",
    "erasure.tombstone": "the service, when your data was erased",
    "consent.record": "you, when you gave or withdrew consent",
    "access.audit": "the service, when staff read your data",
    "staff.identity": "the vendor, about its own staff",
}

ACTIONS = ("delete", "de-identify")


@dataclass(frozen=True)
class RetentionPeriod:
    """How long one kind of record is kept under a purpose, and what happens then."""

    key: str
    applies_to: str
    days: int | None
    after: str
    action: str = "delete"


@dataclass(frozen=True)
class Purpose:
    """One purpose of processing, as the record of processing lists it."""

    key: str
    description: str
    lawful_basis: str
    data_categories: tuple[str, ...]
    data_subjects: tuple[str, ...]
    retention: str
    periods: tuple[RetentionPeriod, ...]
    recipients: tuple[str, ...]
    policy_clause: str

    def period(self, key: str) -> RetentionPeriod:
        """The retention period KEY of this purpose."""
        for period in self.periods:
            if period.key == key:
                return period
        raise KeyError(f"purpose {self.key!r} declares no retention period {key!r}")


class UnknownPurpose(KeyError):
    """A purpose that the registry does not declare."""


class PurposeRegistry:
    """The declared purposes, checked for unknown categories, subjects and recipients."""

    def __init__(self, purposes: list[Purpose]):
        self._purposes: dict[str, Purpose] = {}
        for purpose in purposes:
            self._check(purpose)
            self._purposes[purpose.key] = purpose

    def _check(self, purpose: Purpose) -> None:
        problems = [f"duplicate key {purpose.key!r}"] if purpose.key in self._purposes else []
        if purpose.lawful_basis not in LAWFUL_BASES:
            problems.append(f"lawful basis {purpose.lawful_basis!r}")
        for name, values, known in (("category", purpose.data_categories, CATEGORIES),
                                    ("subject", purpose.data_subjects, SUBJECTS),
                                    ("recipient", purpose.recipients, RECIPIENTS)):
            problems += [f"{name} {value!r}" for value in values if value not in known]
        problems += [f"category {c!r} has no source" for c in purpose.data_categories
                     if c not in SOURCES]
        problems += [f"action {p.action!r}" for p in purpose.periods if p.action not in ACTIONS]
        if problems:
            raise ValueError(f"purpose {purpose.key!r} is badly declared: " + ", ".join(problems))

    def get(self, key: str) -> Purpose:
        """The purpose KEY; UnknownPurpose if it is not declared."""
        try:
            return self._purposes[key]
        except KeyError:
            raise UnknownPurpose(key) from None

    def __contains__(self, key: str) -> bool:
        return key in self._purposes

    def __iter__(self):
        return iter(self._purposes.values())


_CUSTOMERS = ("customer", "device_user")
_WHAT = "What information do we collect?"
_USE = "How do we use your information?"

PURPOSES = PurposeRegistry([
    Purpose(
        LICENSE_ACTIVATION,
        "Provide the Services you request; manage active licenses assigned to your account "
        "by pairing a device ID with your account at activation.",
        CONTRACT,
        ("account.identifier", "account.credential", "account.session", "license.holding",
         "activation.code", "device.pseudonym", "device.public_key", "device.label",
         "seat.usage"),
        _CUSTOMERS, "while the seat is active, then 90 days",
        (RetentionPeriod("released_seat", "device pseudonym, key and label of a released seat",
                         90, "the seat is released", "de-identify"),
         RetentionPeriod("activation_code", "an activation code", 0, "it expires"),
         RetentionPeriod("session", "a Customer Area sign-in session", 0, "it expires")),
        ("hosting_provider",),
        f"{_WHAT} account registration data; license fulfillment and verification information. "
        f"{_USE} In order to perform a Contract."),
    Purpose(
        LICENSE_REFRESH,
        "Regular refresh function for subscription-based licenses: compare the device and "
        "account against active licenses over an internet connection.",
        CONTRACT,
        ("seat.usage", "device.pseudonym", "network.country", "network.ip_prefix"),
        _CUSTOMERS, "last refresh kept on the seat; IP prefix 30 days",
        (RetentionPeriod("ip_prefix", "the IP prefix recorded on a seat", 30,
                         "it is recorded", "de-identify"),),
        ("hosting_provider",),
        f"{_WHAT} license fulfillment and verification information; location information. "
        f"{_USE} In order to perform a Contract."),
    Purpose(
        LICENSE_COMPLIANCE,
        "Ensure compliance with the terms of our license agreements.",
        LEGITIMATE_INTERESTS,
        ("seat.usage", "license.holding"),
        _CUSTOMERS, "24 months",
        (RetentionPeriod("seat_history", "de-identified seat history (counts of activations "
                         "per license)", 730, "the seat is released"),),
        ("hosting_provider",),
        f"{_WHAT} device identifiers linked to your username. {_USE} Legitimate Interests: "
        "to identify you for the purposes of ensuring compliance with the terms of our "
        "license agreements."),
    Purpose(
        SUPPORT,
        "Provide support you request and related after-sales services.",
        CONTRACT,
        ("account.identifier", "account.contact", "account.country", "account.record",
         "license.holding", "seat.usage", "device.label", "access.audit"),
        _CUSTOMERS, "access-log entries 12 months",
        (RetentionPeriod("access_log", "an access-log entry", 365, "the access"),),
        ("hosting_provider", "support_provider"),
        f"{_WHAT} information related to providing support for our products. {_USE} "
        "In order to perform a Contract: to provide the information, Services or support you "
        "request and related after-sales services."),
    Purpose(
        EXPORT_COMPLIANCE,
        "Identify you for the purposes of ensuring export compliance.",
        LEGAL_OBLIGATION,
        ("account.country", "network.country", "network.ip_prefix", "screening.result"),
        _CUSTOMERS, "5 years",
        (RetentionPeriod("screening", "an export-screening record", 1826, "the screening"),),
        ("hosting_provider", "export_authority", "law_enforcement"),
        f"{_USE} To fulfill a Legal Obligation: to identify you for the purposes of ensuring "
        "export compliance."),
    Purpose(
        ANTI_PIRACY,
        "Detect, investigate and prevent potentially illegal activity; verify appropriate "
        "licensing; share with software companies, anti-piracy organisations and law "
        "enforcement.",
        LEGAL_OBLIGATION,
        ("unlicensed_use.evidence", "device.pseudonym"),
        _CUSTOMERS, "3 years after the case closes",
        (RetentionPeriod("case", "an unlicensed-use record", 1095, "the case closes"),),
        ("hosting_provider", "software_company", "anti_piracy_org", "law_enforcement"),
        f"{_WHAT} data regarding any unlicensed use of our software and services. {_USE} "
        "To fulfill a Legal Obligation: to detect, investigate and prevent activity we think "
        "may be potentially illegal; to verify that the product and your use of it are "
        "appropriately licensed."),
    Purpose(
        LEGAL_DISCLOSURE,
        "Comply with legal obligations; answer requests by law enforcement or authorities.",
        LEGAL_OBLIGATION,
        ("disclosure.record",),
        _CUSTOMERS, "5 years",
        (RetentionPeriod("disclosure", "a disclosure record", 1826, "the disclosure"),),
        ("law_enforcement",),
        "With whom do we share your information? Legal Obligation."),
    Purpose(
        PRIVACY_RIGHTS,
        "Respond to data-protection requests.",
        LEGAL_OBLIGATION,
        ("request.record", "notice.record", "objection.record", "erasure.tombstone",
         "account.record", "access.audit"),
        _CUSTOMERS, "3 years; erasure tombstones as long as a backup made before the erasure "
        "is kept",
        (RetentionPeriod("request", "a data-protection request", 1095, "the request closes"),
         RetentionPeriod("tombstone", "an erasure tombstone", None,
                         "the last backup made before the erasure is destroyed")),
        ("supervisory_authority",),
        "Data Subject Rights; How long do we keep your information? (back-up archives)."),
    Purpose(
        MARKETING,
        "Send marketing information per your preferences.",
        CONSENT,
        ("account.contact", "consent.record"),
        ("customer",), "until consent is withdrawn",
        (RetentionPeriod("consent", "marketing use of the email address", None,
                         "consent is withdrawn"),),
        ("email_provider",),
        "Marketing communications."),
    Purpose(
        STAFF_ACCESS,
        "Authenticate staff and keep them accountable for every look-up of a person's data "
        "(GDPR Art 5(2), 32).",
        LEGITIMATE_INTERESTS,
        ("staff.identity", "access.audit"),
        ("staff",), "while the staff member is active, then 12 months",
        (RetentionPeriod("disabled_staff", "a disabled staff member", 365,
                         "the staff member is disabled"),),
        ("hosting_provider",),
        "Not in the customer privacy policy: the staff's own notice; recorded here because "
        "Art 30 covers every processing."),
])


# -- declarations on model columns -------------------------------------------

PERSONAL_DATA = "personal_data"


@dataclass(frozen=True)
class ColumnDeclaration:
    """What a column holds: a category of personal data and its purposes, or none."""

    category: str | None
    purposes: tuple[str, ...]
    reason: str | None = None

    @property
    def personal(self) -> bool:
        return self.category is not None


def personal(category: str, *purposes: str) -> dict:
    """Column info for personal data of CATEGORY processed for PURPOSES."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown data category {category!r}")
    if not purposes:
        raise ValueError(f"personal data of category {category!r} needs a purpose")
    for key in purposes:
        if category not in PURPOSES.get(key).data_categories:
            raise ValueError(f"purpose {key!r} does not declare category {category!r}")
    return {PERSONAL_DATA: ColumnDeclaration(category, tuple(purposes))}


def not_personal(reason: str) -> dict:
    """Column info for a column that holds no personal data, and why."""
    return {PERSONAL_DATA: ColumnDeclaration(None, (), reason)}


def declaration(column) -> ColumnDeclaration | None:
    """The declaration on a table column, or None when it has none."""
    return column.info.get(PERSONAL_DATA)


# -- the purpose a piece of code acts under -----------------------------------

_current_purpose: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tessera_purpose", default=None)


def processes(purpose: str):
    """Declare that the decorated function processes personal data for PURPOSE."""
    PURPOSES.get(purpose)

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            token = _current_purpose.set(purpose)
            try:
                return function(*args, **kwargs)
            finally:
                _current_purpose.reset(token)
        wrapper.purpose = purpose
        return wrapper
    return decorate


def current_purpose() -> str | None:
    """The purpose the running code declared, if any."""
    return _current_purpose.get()
