"""Export screening: embargoed countries and denied-party lists.

The denied-party provider is chosen by ``TESSERA_SCREENING``, like every
optional integration with a Null default so the embedded default stays
offline:

* ``none`` — nobody is screened;
* ``file:PATH`` — a CSV in the format of the US Consolidated Screening List
  (columns ``name``, ``alt_names`` separated by ``;``, ``addresses``; others
  such as ``source`` are read when present), so the published list works as
  downloaded;
* ``http:URL`` / ``https:URL`` — a consolidated-screening-list style JSON API
  (``GET URL?name=...`` with the ``subscription-key`` header, answering
  ``{"results": [{"name", "alt_names", "source"}]}``), cached, failing open or
  closed by ``TESSERA_SCREENING_FAIL``.

Names are compared with rapidfuzz's ``token_sort_ratio`` after normalising
(Unicode NFKD, accents dropped, case folded, punctuation to spaces): word
order ("Doe, John" / "John Doe"), accents and a typo or two do not hide a
match. rapidfuzz is a maintained C++ implementation of the Levenshtein-family
scorers with a ``process.extractOne`` that scans a list of tens of thousands
of names in milliseconds, where a pure-Python fuzzy matcher would take a
second per activation.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import threading
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import requests
from rapidfuzz import fuzz, process

from core.errors import Unavailable

log = logging.getLogger("tessera.compliance.screening")
CACHE_ENTRIES = 4096
# A name the HTTP provider could not screen, failing open: no match, and no verdict.
_NO_ANSWER = object()


@dataclass(frozen=True)
class Party:
    """Who is screened: the account holder's name and company, and country."""

    name: str | None
    company: str | None
    country: str | None

    def names(self) -> list[str]:
        return [n for n in (self.name, self.company) if n and normalise(n)]


@dataclass(frozen=True)
class Match:
    """A hit on a list: which list, and how close (0..100). No names: they stay out of records."""

    source: str
    score: float


class ScreeningUnavailable(Unavailable):
    """The screening service could not answer and screening fails closed."""

    message = "Export screening is unavailable; try again later."


def normalise(text: str) -> str:
    """Accents dropped, case folded, punctuation to spaces, runs of spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(c if c.isalnum() else " " for c in decomposed
                      if not unicodedata.combining(c))
    return " ".join(letters.casefold().split())


def _sorted_words(text: str) -> str:
    return " ".join(sorted(text.split()))


class ListMatcher:
    """Fuzzy matching of names against a list's names and aliases."""

    def __init__(self, entries: list[tuple[str, str]], threshold: int):
        # (normalised name, source) pairs; aliases are entries of their own. Each name is
        # kept with its words sorted: token_sort_ratio is the ratio of the sorted forms, so
        # sorting the list once leaves the plain ratio to compute per name screened.
        self._names = [_sorted_words(name) for name, _ in entries]
        self._sources = [source for _, source in entries]
        self._threshold = threshold

    def best(self, party: Party) -> Match | None:
        """The closest entry at or above the threshold for any of PARTY's names."""
        found = None
        for name in party.names():
            hit = process.extractOne(_sorted_words(normalise(name)), self._names,
                                     scorer=fuzz.ratio, processor=None,
                                     score_cutoff=self._threshold)
            if hit is not None and (found is None or hit[1] > found.score):
                found = Match(self._sources[hit[2]], round(hit[1], 1))
        return found


def entries_from_rows(rows, default_source: str) -> list[tuple[str, str]]:
    """(normalised name, source) for each name and ';'-separated alias of list rows."""
    entries = []
    for row in rows:
        source = (row.get("source") or default_source).strip()[:80] or default_source
        aliases = str(row.get("alt_names") or "").split(";")
        for name in [row.get("name") or "", *aliases]:
            if normalise(str(name)):
                entries.append((normalise(str(name)), source))
    return entries


class NullScreening:
    """No denied-party screening."""

    name = "none"
    # What a verdict is for (licensing.compliance.checks): none is ever made.
    version = None
    max_age_seconds = None

    def screen(self, party: Party) -> Match | None:
        return None

    def screen_known(self, party: Party) -> tuple[Match | None, bool]:
        return None, True


class FileScreening:
    """A consolidated-screening-list CSV on disk, read once at start."""

    name = "file"

    # A verdict holds until the list or the threshold changes.
    max_age_seconds = None

    def __init__(self, path: str, threshold: int):
        content = Path(path).read_bytes()
        rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))
        if rows and "name" not in rows[0]:
            raise ValueError("the screening list needs a 'name' column")
        self._matcher = ListMatcher(entries_from_rows(rows, "file"), threshold)
        self.version = f"file:{hashlib.sha256(content).hexdigest()[:24]}:{threshold}"

    def screen(self, party: Party) -> Match | None:
        return self._matcher.best(party)

    def screen_known(self, party: Party) -> tuple[Match | None, bool]:
        """The match, and whether the answer is a verdict (a file always answers)."""
        return self._matcher.best(party), True


class HttpScreening:
    """A consolidated-screening-list style search API, with a result cache."""

    name = "http"

    def __init__(self, url: str, api_key: str | None, *, timeout: float, fail_closed: bool,
                 cache_seconds: int, threshold: int, http: requests.Session | None = None,
                 clock=time.monotonic):
        self._url = url
        self._headers = {"subscription-key": api_key} if api_key else {}
        self._timeout = timeout
        self._fail_closed = fail_closed
        self._cache_seconds = cache_seconds
        self._threshold = threshold
        self._http = http or requests.Session()
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, Match | None]] = OrderedDict()
        self._lock = threading.Lock()
        # A verdict holds as long as a cached answer would: the API's list changes unseen.
        self.version = f"http:{hashlib.sha256(url.encode()).hexdigest()[:24]}:{threshold}"
        self.max_age_seconds = cache_seconds

    def screen(self, party: Party) -> Match | None:
        return self.screen_known(party)[0]

    def screen_known(self, party: Party) -> tuple[Match | None, bool]:
        """The best match, and whether every name got an answer (failing open gives none)."""
        answers = [self._screen_name(name) for name in party.names()]
        matches = [m for m in answers if isinstance(m, Match)]
        return (max(matches, key=lambda m: m.score, default=None),
                all(answer is not _NO_ANSWER for answer in answers))

    def _screen_name(self, name: str) -> Match | None | object:
        key = normalise(name)
        cached = self._cached(key)
        if cached is not None:
            return cached[1]
        try:
            results = self._search(name)
        except (requests.RequestException, ValueError) as exc:
            self._failed(exc)
            return _NO_ANSWER
        match = ListMatcher(entries_from_rows(results, "api"), self._threshold).best(
            Party(name, None, None))
        self._remember(key, match)
        return match

    def _search(self, name: str) -> list[dict]:
        response = self._http.get(self._url, params={"name": name, "fuzzy_name": "true"},
                                  headers=self._headers, timeout=self._timeout)
        response.raise_for_status()
        body = response.json()  # ValueError when the body is not JSON
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            raise ValueError("the screening answer has no list of results")
        return results

    def _failed(self, exc: Exception) -> None:
        # The kind of failure only: the text may carry the name searched for.
        log.warning("denied-party screening failed (%s); failing %s", type(exc).__name__,
                    "closed" if self._fail_closed else "open")
        if self._fail_closed:
            raise ScreeningUnavailable()

    def _cached(self, key: str) -> tuple[float, Match | None] | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry is None or entry[0] < self._clock():
                return None
            return entry

    def _remember(self, key: str, match: Match | None) -> None:
        with self._lock:
            self._cache[key] = (self._clock() + self._cache_seconds, match)
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)


def provider_from_config(config) -> NullScreening | FileScreening | HttpScreening:
    """The denied-party provider TESSERA_SCREENING names."""
    setting, threshold = config["TESSERA_SCREENING"], config["TESSERA_SCREENING_THRESHOLD"]
    if setting.startswith("file:"):
        return FileScreening(setting[len("file:"):], threshold)
    if setting.startswith(("http:", "https:")):
        # "http:URL" names the API's URL; a bare "https://..." is read the same way.
        url = setting[len("http:"):] if setting.startswith(("http:http:", "http:https:")) \
            else setting
        return HttpScreening(url, config.get("TESSERA_SCREENING_API_KEY"),
                             timeout=config["TESSERA_SCREENING_TIMEOUT"],
                             fail_closed=config["TESSERA_SCREENING_FAIL"] == "closed",
                             cache_seconds=config["TESSERA_SCREENING_CACHE_SECONDS"],
                             threshold=threshold)
    return NullScreening()
