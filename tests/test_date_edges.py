"""The date rules at their edges, where mutants of core/dates survived the suite (issue 32):
the year wrap of "last month", "last Tuesday" said on a Tuesday, a yearless date that falls on
the publication day itself."""

from __future__ import annotations

import datetime as dt

from llmx.core.dates import date_support

TUESDAY = dt.date(2024, 9, 24)


def test_last_month_said_in_january_is_december_of_the_year_before() -> None:
    support = date_support("The strike came last month.", dt.date(2024, 1, 15))
    assert support.months == {(2023, 12)}


def test_last_tuesday_said_on_a_tuesday_is_a_week_before_and_tuesday_alone_may_be_today() -> None:
    assert TUESDAY.weekday() == 1
    last = date_support("The drone hit the depot last Tuesday.", TUESDAY)
    assert dt.date(2024, 9, 17) in last.days
    plain = date_support("The drone hit the depot on Tuesday.", TUESDAY)
    assert plain.days == {TUESDAY}  # no week back without "last"


def test_a_yearless_date_on_the_publication_day_is_this_year_not_last() -> None:
    support = date_support("Rockets hit the base on September 24.", TUESDAY)
    assert support.days == {TUESDAY}
    after = date_support("Rockets hit the base on September 25.", TUESDAY)  # after publication: last year
    assert after.days == {dt.date(2023, 9, 25)}
