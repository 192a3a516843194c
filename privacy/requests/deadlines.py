"""Deadlines of data-subject requests (GDPR Art 12(3)).

A request is answered within one month of receipt. The deadline can be
extended once, by one or two further months, and only while the first month
is still running (the subject must be told of the extension, with its
reasons, within that month). Months are calendar months: received on
31 January, due on 28 (or 29) February.
"""

from __future__ import annotations

from datetime import datetime

from dateutil.relativedelta import relativedelta

FIRST_PERIOD_MONTHS = 1
EXTENSION_MONTHS = (1, 2)


def due_at(received_at: datetime, extended_months: int | None = None) -> datetime:
    """When a request received at RECEIVED_AT must be answered."""
    return received_at + relativedelta(months=FIRST_PERIOD_MONTHS + (extended_months or 0))


def first_period_over(received_at: datetime, now: datetime) -> bool:
    """Whether the first month, the only time an extension may be made, has passed."""
    return now >= due_at(received_at)


def is_overdue(status_open: bool, due: datetime, now: datetime) -> bool:
    """Open and past its deadline."""
    return status_open and now > due
