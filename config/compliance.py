"""Settings of unlicensed-use detection, export screening and disclosure delivery."""

from __future__ import annotations

from config.settings import ConfigurationError, env

# Countries under comprehensive embargo in the default list (US, EU and UN measures
# overlap on these four); a vendor sets its own list from its export counsel's advice.
DEFAULT_EMBARGOED_COUNTRIES = "CU,IR,KP,SY"
# rapidfuzz token_sort_ratio (0..100) at or above which a name counts as a match: 90
# catches re-ordered names, accents and one or two typos, not mere shared surnames.
DEFAULT_SCREENING_THRESHOLD = 90


def _countries(text: str) -> frozenset[str]:
    codes = {part.strip().upper() for part in text.split(",") if part.strip()}
    bad = sorted(c for c in codes if len(c) != 2 or not c.isalpha())
    if bad:
        raise ConfigurationError("TESSERA_EMBARGOED_COUNTRIES holds ISO 3166-1 alpha-2 codes "
                                 "separated by commas")
    return frozenset(codes)


def _screening(text: str) -> str:
    if text == "none" or text.startswith(("file:", "http:", "https:")):
        return text
    raise ConfigurationError("TESSERA_SCREENING must be 'none', 'file:PATH' or 'http:URL'")


def compliance_settings(environ: dict) -> dict:
    """Thresholds, embargo list, screening provider and disclosure delivery settings."""
    fail = env("TESSERA_SCREENING_FAIL", environ, "open")
    if fail not in ("open", "closed"):
        raise ConfigurationError("TESSERA_SCREENING_FAIL must be 'open' or 'closed'")
    return {
        "TESSERA_CODE_GUESS_THRESHOLD": int(env("TESSERA_CODE_GUESS_THRESHOLD", environ, "10")),
        "TESSERA_CHURN_THRESHOLD": int(env("TESSERA_CHURN_THRESHOLD", environ, "10")),
        "TESSERA_CLONE_WINDOW_SECONDS": int(env("TESSERA_CLONE_WINDOW_SECONDS", environ,
                                                "3600")),
        "TESSERA_EMBARGOED_COUNTRIES": _countries(
            env("TESSERA_EMBARGOED_COUNTRIES", environ, DEFAULT_EMBARGOED_COUNTRIES)),
        "TESSERA_SCREENING": _screening(env("TESSERA_SCREENING", environ, "none")),
        "TESSERA_SCREENING_API_KEY": env("TESSERA_SCREENING_API_KEY", environ),
        "TESSERA_SCREENING_FAIL": fail,
        "TESSERA_SCREENING_TIMEOUT": float(env("TESSERA_SCREENING_TIMEOUT", environ, "5")),
        "TESSERA_SCREENING_CACHE_SECONDS": int(env("TESSERA_SCREENING_CACHE_SECONDS", environ,
                                                   "86400")),
        "TESSERA_SCREENING_THRESHOLD": int(env("TESSERA_SCREENING_THRESHOLD", environ,
                                               str(DEFAULT_SCREENING_THRESHOLD))),
        "TESSERA_DISCLOSURE_TIMEOUT": float(env("TESSERA_DISCLOSURE_TIMEOUT", environ, "10")),
        "TESSERA_DISCLOSURE_MAX_ATTEMPTS": int(env("TESSERA_DISCLOSURE_MAX_ATTEMPTS", environ,
                                                   "8")),
        "TESSERA_DISCLOSURE_BACKOFF_SECONDS": int(env("TESSERA_DISCLOSURE_BACKOFF_SECONDS",
                                                      environ, "60")),
    }
