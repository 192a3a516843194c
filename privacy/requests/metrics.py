"""The request queue at /metrics: `tessera_privacy_requests_open{overdue}`, read at each scrape."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily

from core.database import db, utcnow
from core.metrics import gauge_source
from privacy.requests.models import OPEN, SubjectRequest


def open_requests() -> Iterable[GaugeMetricFamily]:
    """Open data-subject requests, split by whether their deadline has passed."""
    is_open = SubjectRequest.status.in_(OPEN)
    total, overdue = db.session.execute(sa.select(
        sa.func.count().filter(is_open),
        sa.func.count().filter(is_open, SubjectRequest.due_at < utcnow()))).one()
    gauge = GaugeMetricFamily("tessera_privacy_requests_open",
                              "Data-subject requests still open, by whether they are overdue.",
                              labels=["overdue"])
    gauge.add_metric(["true"], overdue)
    gauge.add_metric(["false"], total - overdue)
    yield gauge


gauge_source(open_requests)
