"""A browser session that screenshots and checks every page it is shown."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

# Every control a keyboard user must be able to reach.
FOCUSABLE = ("a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), "
             "select:not([disabled]), textarea:not([disabled])")

# Where focus is, as a selector-free description: tag, name or href, and text.
_DESCRIBE_FOCUS = """() => {
  const e = document.activeElement;
  return e ? [e.tagName, e.getAttribute('name') || e.getAttribute('href') || '',
              (e.textContent || '').trim()].join('|') : '';
}"""
_DESCRIBE_ALL = """(selector) => Array.from(document.querySelectorAll(selector)).map(e =>
  [e.tagName, e.getAttribute('name') || e.getAttribute('href') || '',
   (e.textContent || '').trim()].join('|'))"""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class Browsing:
    """PAGE plus what was seen: each visited page's HTML, in order."""

    page: object
    folder: Path
    seen: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self):
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)

    def check(self, name: str) -> str:
        """Screenshot the page, run axe-core on it, keep its HTML; return the HTML."""
        from axe_playwright_python.sync_playwright import Axe

        self.page.screenshot(path=str(self.folder / f"{len(self.seen):02d}-{_slug(name)}.png"),
                             full_page=True)
        results = Axe().run(self.page)
        assert results.violations_count == 0, f"{name}: {results.generate_report()}"
        html = self.page.content()
        self.seen.append((name, html))
        return html

    def tab_reaches_every_control(self) -> None:
        """Pressing Tab from the top visits every link, button and field of the page."""
        controls = self.page.evaluate(_DESCRIBE_ALL, FOCUSABLE)
        self.page.locator("body").focus()
        reached = []
        for _ in range(len(controls) + 2):
            self.page.keyboard.press("Tab")
            reached.append(self.page.evaluate(_DESCRIBE_FOCUS))
        missing = [c for c in controls if c not in reached]
        assert not missing, f"Tab never reaches: {missing}"


class LiveHttp:
    """The test client's post/delete over real HTTP, for support.Device against a live server."""

    def __init__(self, base_url: str):
        import requests

        self._session = requests.Session()
        self._base_url = base_url

    def post(self, path: str, **kwargs):
        return self._session.post(self._base_url + path, timeout=10, **kwargs)

    def delete(self, path: str, **kwargs):
        return self._session.delete(self._base_url + path, timeout=10, **kwargs)

    def close(self) -> None:
        self._session.close()


def identifier_canaries(app, emails: list[str], fingerprints: list[str]) -> dict[str, str]:
    """Every identifier no console page may show, by what it is: full emails, raw device
    fingerprints, and what the database holds of devices and subjects (pseudonyms, device
    keys and thumbprints, IP prefixes, the email blind index)."""
    import sqlalchemy as sa

    from core.database import db
    from licensing.accounts.models import Account
    from licensing.activation.models import Seat
    from privacy.models import AccessLogEntry

    canaries = {f"email {e}": e for e in emails}
    canaries.update({f"fingerprint {f}": f for f in fingerprints})
    with app.app_context():
        for seat in db.session.scalars(sa.select(Seat)):
            canaries.update({f"device pseudonym of {seat.id}": seat.device_pseudonym,
                             f"device key of {seat.id}": seat.device_public_key,
                             f"device key thumbprint of {seat.id}": seat.device_jkt,
                             f"IP prefix of {seat.id}": (seat.ip_prefix or "").rpartition("/")[0]})
        for index in db.session.scalars(sa.select(Account.email_index)):
            canaries[f"email index {index}"] = index
        for subject in db.session.scalars(sa.select(AccessLogEntry.subject_pseudonym)):
            canaries[f"subject pseudonym {subject}"] = subject
    return {what: value for what, value in canaries.items() if value}


def shown_identifiers(seen: list[tuple[str, str]], canaries: dict[str, str]) -> list[str]:
    """Which canaries appear on which visited page."""
    return [f"{what} on {page}" for page, html in seen for what, value in canaries.items()
            if value in html]
