"""Tests of :mod:`kg.dates`: date expressions resolved against a publication date."""

import datetime
import doctest
from datetime import date

import pytest
from hypothesis import given, strategies as st

import kg.dates
from kg.dates import Interval, resolve
from kg.errors import DateError

#: Publication date of most cases: a Thursday.
P = date(2018, 7, 12)
#: A publication date in another year, for the year-relative cases.
P2019 = date(2019, 5, 8)
JUNE_12 = Interval(date(2018, 6, 12), date(2018, 6, 12), "June 12")

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def span(text, published=P, **kw):
    result = resolve(text, published, **kw)
    return result.start, result.end


def test_doctests():
    results = doctest.testmod(kg.dates)
    assert results.attempted > 0
    assert results.failed == 0


@pytest.mark.parametrize("text, kw, expected", [
    # weekdays
    ("Thursday", {}, (date(2018, 7, 12), date(2018, 7, 12))),
    ("Sunday", {"tense": "future"}, (date(2018, 7, 15), date(2018, 7, 15))),
    ("Thursday", {"tense": "future"}, (date(2018, 7, 12), date(2018, 7, 12))),
    ("last Thursday", {}, (date(2018, 7, 5), date(2018, 7, 5))),
    ("next Thursday", {}, (date(2018, 7, 19), date(2018, 7, 19))),
    ("next Sunday", {}, (date(2018, 7, 15), date(2018, 7, 15))),
    ("this Friday", {"tense": "future"}, (date(2018, 7, 13), date(2018, 7, 13))),
    ("Friday and Saturday", {}, (date(2018, 7, 6), date(2018, 7, 7))),
    ("Friday through Sunday", {"tense": "future"}, (date(2018, 7, 13), date(2018, 7, 15))),
    ("Monday to Wednesday", {}, (date(2018, 7, 9), date(2018, 7, 11))),
    ("Thursday, July 12, 2018", {}, (date(2018, 7, 12), date(2018, 7, 12))),
    ("Friday last week", {}, (date(2018, 7, 6), date(2018, 7, 6))),
    ("Thursday night", {}, (date(2018, 7, 12), date(2018, 7, 12))),
    # days and calendar units around P
    ("today", {}, (P, P)),
    ("yesterday", {}, (date(2018, 7, 11), date(2018, 7, 11))),
    ("tomorrow", {}, (date(2018, 7, 13), date(2018, 7, 13))),
    ("this week", {}, (date(2018, 7, 9), date(2018, 7, 15))),
    ("last week", {}, (date(2018, 7, 2), date(2018, 7, 8))),
    ("next week", {}, (date(2018, 7, 16), date(2018, 7, 22))),
    ("this month", {}, (date(2018, 7, 1), date(2018, 7, 31))),
    ("last month", {}, (date(2018, 6, 1), date(2018, 6, 30))),
    ("next month", {}, (date(2018, 8, 1), date(2018, 8, 31))),
    ("this year", {}, (date(2018, 1, 1), date(2018, 12, 31))),
    ("earlier this year", {}, (date(2018, 1, 1), date(2018, 7, 11))),
    ("later this year", {}, (date(2018, 7, 13), date(2018, 12, 31))),
    ("the past two weeks", {}, (date(2018, 6, 28), P)),
    # absolute
    ("2018-07-12", {}, (date(2018, 7, 12), date(2018, 7, 12))),
    ("2018-07", {}, (date(2018, 7, 1), date(2018, 7, 31))),
    ("2018", {}, (date(2018, 1, 1), date(2018, 12, 31))),
    ("1950-1953", {}, (date(1950, 1, 1), date(1953, 12, 31))),
    ("1950\u20131953", {}, (date(1950, 1, 1), date(1953, 12, 31))),
    ("from 1950 to 1953", {}, (date(1950, 1, 1), date(1953, 12, 31))),
    ("2018-06-12/2018-06-30", {}, (date(2018, 6, 12), date(2018, 6, 30))),
    ("June 12", {}, (date(2018, 6, 12), date(2018, 6, 12))),
    ("June 12", {"tense": "future"}, (date(2019, 6, 12), date(2019, 6, 12))),
    ("June 12, 2018", {}, (date(2018, 6, 12), date(2018, 6, 12))),
    ("May 14, 1999", {}, (date(1999, 5, 14), date(1999, 5, 14))),
    ("12 June 2018", {}, (date(2018, 6, 12), date(2018, 6, 12))),
    ("June", {}, (date(2018, 6, 1), date(2018, 6, 30))),
    ("August", {}, (date(2017, 8, 1), date(2017, 8, 31))),
    ("August", {"tense": "future"}, (date(2018, 8, 1), date(2018, 8, 31))),
    ("June 2018", {}, (date(2018, 6, 1), date(2018, 6, 30))),
    ("June 12-14", {}, (date(2018, 6, 12), date(2018, 6, 14))),
    ("November to February", {}, (date(2017, 11, 1), date(2018, 2, 28))),
    ("February 29", {}, (date(2016, 2, 29), date(2016, 2, 29))),
    # since, decades, parts
    ("since 1990", {}, (date(1990, 1, 1), P)),
    ("since 2005", {}, (date(2005, 1, 1), P)),
    ("since June 12", {}, (date(2018, 6, 12), P)),
    ("the 1950s", {}, (date(1950, 1, 1), date(1959, 12, 31))),
    ("the early 1950s", {}, (date(1950, 1, 1), date(1953, 12, 31))),
    ("the mid 1950s", {}, (date(1953, 1, 1), date(1956, 12, 31))),
    ("mid-1950s", {}, (date(1953, 1, 1), date(1956, 12, 31))),
    ("the late 1950s", {}, (date(1957, 1, 1), date(1959, 12, 31))),
    ("early June", {}, (date(2018, 6, 1), date(2018, 6, 10))),
    ("late 2017", {}, (date(2017, 9, 1), date(2017, 12, 31))),
    # relative to P
    ("three days ago", {}, (date(2018, 7, 9), date(2018, 7, 9))),
    ("a week ago", {}, (date(2018, 7, 3), date(2018, 7, 7))),
    ("within days", {"tense": "future"}, (P, date(2018, 7, 22))),
])
def test_resolve(text, kw, expected):
    assert span(text, **kw) == expected


@pytest.mark.parametrize("text, published, expected", [
    ("next year", P2019, (date(2020, 1, 1), date(2020, 12, 31))),
    ("last year", P2019, (date(2018, 1, 1), date(2018, 12, 31))),
    ("last month", date(2018, 3, 31), (date(2018, 2, 1), date(2018, 2, 28))),
    ("last week", date(2019, 1, 2), (date(2018, 12, 24), date(2018, 12, 30))),
])
def test_resolve_other_publication_dates(text, published, expected):
    assert span(text, published) == expected


@pytest.mark.parametrize("text, expected", [
    ("a day later", (date(2018, 6, 13), date(2018, 6, 13))),
    ("a week later", (date(2018, 6, 17), date(2018, 6, 21))),
    ("two weeks later", (date(2018, 6, 22), date(2018, 6, 30))),
    ("3 days later", (date(2018, 6, 15), date(2018, 6, 15))),
    ("three days later", (date(2018, 6, 15), date(2018, 6, 15))),
    ("twelve days later", (date(2018, 6, 24), date(2018, 6, 24))),
    ("a month later", (date(2018, 7, 7), date(2018, 7, 17))),
    ("days later", (date(2018, 6, 13), date(2018, 6, 22))),
    ("two days earlier", (date(2018, 6, 10), date(2018, 6, 10))),
    ("within days", (date(2018, 6, 12), date(2018, 6, 22))),
    ("the next day", (date(2018, 6, 13), date(2018, 6, 13))),
    ("the following week", (date(2018, 6, 18), date(2018, 6, 24))),
    ("since then", (date(2018, 6, 12), P)),
])
def test_relative_to_anchor(text, expected):
    assert span(text, anchor=JUNE_12) == expected


def test_offsets_widen_a_span_anchor():
    summit = Interval(date(2018, 6, 12), date(2018, 6, 14), "June 12-14")
    assert span("a week later", anchor=summit) == (date(2018, 6, 17), date(2018, 6, 23))
    assert span("2 days later", anchor=summit) == (date(2018, 6, 14), date(2018, 6, 16))


@pytest.mark.parametrize("text", [
    "Thursday", "thursday", "THURSDAY", "on Thursday", "  on Thursday.  ", "Thursday,", "in 2018",
])
def test_tolerant_matching(text):
    result = resolve(text, P)
    assert result.text == text
    assert result.start.year == 2018


def test_interval():
    day = resolve("Thursday", P)
    assert day.exact and str(day) == "2018-07-12"
    week = resolve("last week", P)
    assert not week.exact and str(week) == "2018-07-02/2018-07-08"
    with pytest.raises(DateError):
        Interval(date(2018, 7, 2), date(2018, 7, 1), "backwards")
    with pytest.raises(DateError):
        Interval(datetime.datetime(2018, 7, 1), date(2018, 7, 1), "not a date")


ERRORS = [
    ("not a date at all", {}),
    ("February 30", {}),
    ("2018-13-01", {}),
    ("2018-02-29", {}),
    ("1953-1950", {}),
    ("a week later", {}),
    ("days later", {}),
    ("the next day", {}),
    ("within days", {}),
    ("since then", {}),
    ("since the summit", {}),
    ("Thursday", {"tense": "present"}),
    ("", {}),
    ("Thursday, July 13, 2018", {}),
    ("since 2019", {}),
]


@pytest.mark.parametrize("text, kw", ERRORS)
def test_errors_name_the_expression(text, kw):
    with pytest.raises(DateError) as caught:
        resolve(text, P, **kw)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize("text, kw", ERRORS)
def test_errors_carry_file_and_item(text, kw):
    with pytest.raises(DateError) as caught:
        resolve(text, P, file="data/claims/x.yaml", item="c3", **kw)
    message = str(caught.value)
    assert "data/claims/x.yaml" in message and "c3" in message
    assert caught.value.file == "data/claims/x.yaml" and caught.value.item == "c3"


def test_since_an_event_suggests_an_anchor():
    with pytest.raises(DateError, match="anchor"):
        resolve("since the summit", P)


def test_bad_arguments():
    with pytest.raises(DateError):
        resolve("Thursday", datetime.datetime(2018, 7, 12))
    with pytest.raises(DateError):
        resolve("a week later", P, anchor=date(2018, 6, 12))


DAYS = st.dates(min_value=date(1, 1, 8), max_value=date(9999, 12, 24))


@given(DAYS)
def test_weekday_property(published):
    for index, name in enumerate(WEEKDAYS):
        past = resolve(name, published)
        assert past.exact and past.start.weekday() == index
        assert published - datetime.timedelta(days=6) <= past.start <= published
        future = resolve(name, published, tense="future")
        assert future.exact and future.start.weekday() == index
        assert published <= future.start <= published + datetime.timedelta(days=6)


@given(DAYS)
def test_last_and_next_weekday_property(published):
    for index, name in enumerate(WEEKDAYS):
        last = resolve(f"last {name}", published).start
        assert last.weekday() == index
        assert published - datetime.timedelta(days=7) <= last < published
        following = resolve(f"next {name}", published).start
        assert following.weekday() == index
        assert published < following <= published + datetime.timedelta(days=7)


@given(st.dates(min_value=date(2, 1, 1), max_value=date(9998, 12, 31)),
       st.integers(1, 12), st.integers(1, 28))
def test_yearless_date_property(published, month, day):
    text = date(2000, month, day).strftime("%B %d")
    past = resolve(text, published).start
    assert (past.month, past.day) == (month, day)
    assert published - datetime.timedelta(days=366) < past <= published
    future = resolve(text, published, tense="future").start
    assert (future.month, future.day) == (month, day)
    assert published <= future < published + datetime.timedelta(days=366)
