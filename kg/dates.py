"""Resolve the date expressions of news prose to closed intervals of calendar days.

A news article dates what it reports relative to the day it was published: "on Thursday", "last
month", "a week later", "since 1990".  :func:`resolve` turns one such expression into an
:class:`Interval` of days, reading it against the publication date ``P`` and, for expressions that
count from another event ("two days later"), against that event's interval, the *anchor*.

The result is always an interval rather than a day because news prose is often vague ("the early
1950s", "days later"); an exact day is an interval of one day (:attr:`Interval.exact`).

Grammar
-------
Matching ignores case, surrounding whitespace, commas, trailing punctuation and one leading "on",
"in", "during" or "over".  Number words from "one" to "twelve" (and "a", "an") are accepted where
a count is.

==============================================  ====================================================
Expression                                      Interval
==============================================  ====================================================
``2018-07-12``, ``2018-07``, ``2018``           that day, month, year
``2018-06-12/2018-06-30``                       ISO 8601 interval: start of the first to end of the
                                                second
``1950-1953``, ``1950–1953``                    1950-01-01 to 1953-12-31
``June 12``, ``12 June 2018``, ``June 2018``    that day or month
``June 12-14``, ``12 to 14 June 2018``          those days of one month
``Thursday``, ``the weekend``                   that weekday; Saturday to Sunday
``this X``, ``last X``, ``next X``              for a year-less X: X by tense; the latest X ending
                                                strictly before P; the earliest starting strictly
                                                after P
``Thursday, July 12``, ``Friday last week``     the day, which must be that weekday
``today``, ``yesterday``, ``tomorrow``          P, P - 1, P + 1 (``last night``: P - 1 to P)
``this``/``last``/``next week|month|year``      that calendar unit; weeks are ISO weeks, Monday to
                                                Sunday
``earlier``/``later this week|month|year``      the days of that unit before / after P
``the past N days``, ``the next two weeks``     rolling span ending / starting at P
``the 1950s``                                   1950-01-01 to 1959-12-31
``early``/``mid``/``late X``                    a part of X (table below)
``since X``                                     start of X to P; ``since then``: anchor start to P
``A and B``, ``A to B``, ``from A to B``        start of A to end of B
``N days later``, ``a week earlier``            offset from the anchor (table below)
``N days ago``, ``weeks ago``                   offset back from P
``within days``, ``within a week``              the anchor (or P, in the future tense) and the span
                                                after it
``the next day``, ``the following week``        the day or calendar unit after (``the previous
                                                ...``: before) the anchor; ``the same day``: the
                                                anchor
==============================================  ====================================================

A year-less expression ("June 12", "June", "Thursday", "the weekend") recurs; the tense picks one
occurrence.  ``past``: the latest starting on or before P; ``future``: the earliest ending on or
after P.  For a single day this is the most recent such day on or before P (P itself counts), or
the next on or after P.  In ``A and B`` the second lies on or after the first: in the past tense B
is picked first and A is the latest occurrence not after B, so the whole range lies on or before P;
in the future tense A is picked first and B is the earliest occurrence not before A.

Parts of an interval (``early``, ``mid``, ``late``; also ``the beginning``, ``middle``, ``end of``):

==============  ==================  ==================  ==================
X               early               mid                 late
==============  ==================  ==================  ==================
decade          years 0-3           years 3-6           years 7-9
year            January-April       May-August          September-December
month           days 1-10           days 11-20          days 21-end
other (n days)  first ⌈n/3⌉ days    middle ⌈n/3⌉ days   last ⌈n/3⌉ days
==============  ==================  ==================  ==================

Offsets.  News prose rounds durations ("a week later" may be five days or nine), so a count of
units ``N`` of nominal length ``L`` days widens by a slack ``S`` days per unit:
``N units later`` is ``[a.start + N(L - S), a.end + N(L + S)]`` and ``N units earlier`` (or
``ago``, from P) is ``[a.start - N(L + S), a.end - N(L - S)]``, where ``a`` is the anchor.  A count
left vague ("days later", "a few weeks later") offsets by the vague range instead.  ``within N
units`` reaches ``N * L`` days past the anchor's end; ``within days`` reaches the vague maximum.

=====  ===  ===  ===================  ==========================================
unit   L    S    vague range (days)   so
=====  ===  ===  ===================  ==========================================
day    1    0    1-10                 ``3 days later``: [a.start + 3, a.end + 3]
week   7    2    7-56                 ``a week later``: [a.start + 5, a.end + 9]
month  30   5    30-365               ``a month later``: [a.start + 25, a.end + 35]
year   365  30   365-3652             ``a year later``: [a.start + 335, a.end + 395]
=====  ===  ===  ===================  ==========================================

Every bad input raises :class:`kg.errors.DateError` naming the expression.
"""

from __future__ import annotations

import calendar
import datetime
import re
from dataclasses import dataclass
from typing import Callable

from kg.errors import DateError

__all__ = ["Interval", "TENSES", "resolve"]

#: The tenses :func:`resolve` accepts: whether the expression is on or before publication, or after.
TENSES = ("past", "future")


@dataclass(frozen=True)
class Interval:
    """A closed interval of calendar days, with the expression it was read from.

    Parameters
    ----------
    start : datetime.date
        The first day.
    end : datetime.date
        The last day, inclusive; not before ``start``.
    text : str
        The expression as given.

    Raises
    ------
    DateError
        If ``start`` or ``end`` is not a ``datetime.date`` (a ``datetime`` is refused, as it
        does not compare with a date), or ``end`` is before ``start``.

    Examples
    --------
    >>> from datetime import date
    >>> june = Interval(date(2018, 6, 1), date(2018, 6, 30), "June")
    >>> june.exact, str(june)
    (False, '2018-06-01/2018-06-30')
    >>> str(Interval(date(2018, 6, 12), date(2018, 6, 12), "June 12"))
    '2018-06-12'
    >>> Interval(date(2018, 6, 30), date(2018, 6, 1), "backwards")
    Traceback (most recent call last):
    ...
    kg.errors.DateError: interval 'backwards' ends on 2018-06-01, before it starts on 2018-06-30
    """

    start: datetime.date
    end: datetime.date
    text: str

    def __post_init__(self):
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
                raise DateError(f"interval {self.text!r}: {name} must be a datetime.date, "
                                f"not {type(value).__name__}")
        if self.end < self.start:
            raise DateError(f"interval {self.text!r} ends on {self.end}, "
                            f"before it starts on {self.start}")

    @property
    def exact(self) -> bool:
        """Whether the interval is a single day."""
        return self.start == self.end

    def __str__(self) -> str:
        """The interval in ISO 8601: one date when exact, else ``start/end``."""
        if self.exact:
            return self.start.isoformat()
        return f"{self.start.isoformat()}/{self.end.isoformat()}"


# --------------------------------------------------------------------------------------------
# Internals.  A rule reads an expression either to a fixed span ``(start, end)`` or to a
# ``_Recurring`` (a year-less or week-less expression); only the caller knows which occurrence
# is meant (by tense, relative to P, or relative to the other end of a range).

_Span = tuple  # (datetime.date, datetime.date)


class _NoMatch(Exception):
    """No rule reads the expression, as opposed to a rule that reads it and finds it impossible."""


@dataclass(frozen=True)
class _Recurring:
    """An expression with one occurrence per week or per year.

    ``around(ref)`` lists the occurrences near ``ref`` in order, enough of them on both sides
    that every choice :func:`_pick` makes relative to ``ref`` is among them.
    """

    around: Callable[[datetime.date], list]


@dataclass(frozen=True)
class _Context:
    published: datetime.date
    tense: str
    anchor: _Span | None


def _days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12,
    "dec": 12,
}
_WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tues": 1, "tue": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thurs": 3, "thur": 3, "thu": 3, "friday": 4, "fri": 4, "saturday": 5,
    "sat": 5, "sunday": 6, "sun": 6,
}
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}
# unit: (nominal length L in days, slack S per unit, vague minimum, vague maximum); see the
# module docstring for what each column does.
_OFFSETS = {
    "day": (1, 0, 1, 10),
    "week": (7, 2, 7, 56),
    "month": (30, 5, 30, 365),
    "year": (365, 30, 365, 3652),
}
_LATER = ("later", "after", "afterwards", "afterward", "on")
_EARLIER = ("earlier", "before", "prior", "previously")


def _alternation(words) -> str:
    # Longest first, so that "june" is not read as "jun" followed by garbage.
    return "(?:" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + ")"


_MON = _alternation(_MONTHS)
_WD = _alternation(_WEEKDAYS)
_NUM = r"(?:\d{1,4}|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + ")"
_D = r"(\d{1,2})(?:st|nd|rd|th)?"
_Y = r"(\d{4})"
_UNIT = r"(day|week|month|year)"
_VAGUE = r"(?:a few|several|some|few)"
_DIRECTION = "(" + "|".join(_LATER + _EARLIER + ("ago",)) + ")"


def _number(token: str) -> int:
    return int(token) if token.isdigit() else _NUMBER_WORDS[token]


def _normalise(text: str) -> str:
    s = re.sub(r"[\u2010-\u2015\u2212]", "-", text.lower())
    # Commas only separate parts ("Thursday, July 12, 2018"); dropping them keeps the rules short.
    s = re.sub(r"\s+", " ", s.replace(",", " ")).strip()
    s = re.sub(r"[\s.;:!?]+$", "", s)
    # Abbreviation dots ("Jan. 5", "Thu.") carry no meaning.
    s = re.sub(r"(?<=[a-z])\.(?= )", "", s)
    return re.sub(r"^(?:on|in|during|over) ", "", s)


# -- the calendar ----------------------------------------------------------------------------

def _check_year(year: int) -> None:
    if not 1 <= year <= 9999:
        raise DateError(f"year {year} is outside the calendar (years 1 to 9999)")


def _check_month(month: int) -> None:
    if not 1 <= month <= 12:
        raise DateError(f"there is no month {month}")


def _day(year: int, month: int, day: int) -> datetime.date:
    _check_year(year)
    _check_month(month)
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise DateError(f"{calendar.month_name[month]} {year} has {last} days, so there is no "
                        f"{calendar.month_name[month]} {day}, {year}")
    return datetime.date(year, month, day)


def _check_day_in_some_year(month: int, day: int) -> None:
    _check_month(month)
    # 2000 is a leap year, so a year-less February 29 passes here and recurs every leap year.
    last = calendar.monthrange(2000, month)[1]
    if not 1 <= day <= last:
        raise DateError(f"{calendar.month_name[month]} has at most {last} days, so there is no "
                        f"{calendar.month_name[month]} {day}")


def _month_span(year: int, month: int) -> _Span:
    _check_year(year)
    _check_month(month)
    return (datetime.date(year, month, 1),
            datetime.date(year, month, calendar.monthrange(year, month)[1]))


def _year_span(year: int) -> _Span:
    _check_year(year)
    return (datetime.date(year, 1, 1), datetime.date(year, 12, 31))


def _add_months(day: datetime.date, n: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + n
    year, month = divmod(index, 12)
    _check_year(year)
    # A month later than January 31 is the end of February, not an error.
    return datetime.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _shift(day: datetime.date, unit: str, n: int) -> datetime.date:
    if unit == "day":
        return day + _days(n)
    if unit == "week":
        return day + _days(7 * n)
    return _add_months(day, n if unit == "month" else 12 * n)


def _unit_span(unit: str, day: datetime.date) -> _Span:
    if unit == "day":
        return (day, day)
    if unit == "week":
        monday = day - _days(day.weekday())
        return (monday, monday + _days(6))
    if unit == "month":
        return _month_span(day.year, day.month)
    return _year_span(day.year)


# -- recurring expressions -------------------------------------------------------------------

def _yearly(make: Callable[[int], _Span]) -> _Recurring:
    def around(ref):
        spans = []
        # Nine years each way covers the longest gap between two February 29ths (1896 to 1904).
        for year in range(max(1, ref.year - 9), min(9999, ref.year + 9) + 1):
            try:
                spans.append(make(year))
            except (ValueError, DateError):
                continue
        return spans
    return _Recurring(around)


def _weekly(weekday: int, length: int = 1) -> _Recurring:
    def around(ref):
        spans = []
        for k in range(-14, 15):
            try:
                day = ref + _days(k)
                if day.weekday() == weekday:
                    spans.append((day, day + _days(length - 1)))
            except OverflowError:
                continue
        return spans
    return _Recurring(around)


def _mapped(recurring: _Recurring, function: Callable[[_Span], _Span]) -> _Recurring:
    return _Recurring(lambda ref: [function(span) for span in recurring.around(ref)])


# mode: (which occurrences qualify relative to ref, which of them to take)
_MODES = {
    "past": (lambda span, ref: span[0] <= ref, max),
    "future": (lambda span, ref: span[1] >= ref, min),
    "last": (lambda span, ref: span[1] < ref, max),
    "next": (lambda span, ref: span[0] > ref, min),
    "from": (lambda span, ref: span[0] >= ref, min),
}


def _pick(recurring: _Recurring, mode: str, ref: datetime.date) -> _Span:
    qualifies, choose = _MODES[mode]
    spans = [span for span in recurring.around(ref) if qualifies(span, ref)]
    if not spans:
        raise DateError(f"no occurrence near {ref} within the calendar (years 1 to 9999)")
    return choose(spans)


def _settle(result, ctx: _Context, mode: str | None = None) -> _Span:
    if isinstance(result, _Recurring):
        return _pick(result, mode or ctx.tense, ctx.published)
    return result


def _join(first, second, ctx: _Context) -> _Span:
    """The span from the start of ``first`` to the end of ``second``, the second not before."""
    first_recurs, second_recurs = isinstance(first, _Recurring), isinstance(second, _Recurring)
    if first_recurs and second_recurs:
        if ctx.tense == "future":
            first = _pick(first, "future", ctx.published)
            second = _pick(second, "from", first[0])
        else:
            # Picking the end first keeps the whole range on or before P.
            second = _pick(second, "past", ctx.published)
            first = _pick(first, "past", second[0])
    elif first_recurs:
        first = _pick(first, "past", second[0])
    elif second_recurs:
        second = _pick(second, "from", first[0])
    if second[1] < first[0]:
        raise DateError(f"the range ends on {second[1]}, before it starts on {first[0]}")
    return (first[0], second[1])


def _part(part: str, span: _Span) -> _Span:
    """The early, mid or late part of ``span`` (see the module docstring)."""
    start, end = span
    year = start.year
    whole_years = (start.month, start.day, end.month, end.day) == (1, 1, 12, 31)
    if whole_years and year % 10 == 0 and end.year == year + 9:
        first, last = {"early": (0, 3), "mid": (3, 6), "late": (7, 9)}[part]
        return (datetime.date(year + first, 1, 1), datetime.date(year + last, 12, 31))
    if whole_years and end.year == year:
        first, last = {"early": (1, 4), "mid": (5, 8), "late": (9, 12)}[part]
        return (_month_span(year, first)[0], _month_span(year, last)[1])
    if (start.day == 1 and (end.year, end.month) == (year, start.month)
            and end == _month_span(year, start.month)[1]):
        first, last = {"early": (1, 10), "mid": (11, 20), "late": (21, end.day)}[part]
        return (start.replace(day=first), start.replace(day=last))
    n = (end - start).days + 1
    k = -(-n // 3)
    offset = {"early": 0, "mid": (n - k) // 2, "late": n - k}[part]
    return (start + _days(offset), start + _days(offset + k - 1))


def _need_anchor(ctx: _Context) -> _Span:
    if ctx.anchor is None:
        raise DateError("counts from another event, so it needs an anchor: pass anchor= the "
                        "Interval of the event it is relative to")
    return ctx.anchor


# -- the rules, tried in order ----------------------------------------------------------------

_RULES: list = []


def _rule(pattern: str):
    def register(handler):
        _RULES.append((re.compile(pattern), handler))
        return handler
    return register


def _parse(s: str, ctx: _Context, *, pair: bool = True):
    for pattern, handler in _RULES:
        match = pattern.fullmatch(s)
        if match:
            try:
                return handler(match, ctx)
            except _NoMatch:
                # A rule that reads only a head ("Thursday <rest>") lets a later rule try.
                continue
    if pair:
        return _pair(s, ctx)
    raise _NoMatch(s)


_DAYS_FROM_P = {
    "today": 0, "tonight": 0, "this morning": 0, "this afternoon": 0, "this evening": 0,
    "yesterday": -1, "tomorrow": 1, "the day before yesterday": -2, "the day after tomorrow": 2,
}


@_rule(_alternation(_DAYS_FROM_P))
def _relative_day(m, ctx):
    day = ctx.published + _days(_DAYS_FROM_P[m[0]])
    return (day, day)


@_rule(r"last night")
def _last_night(m, ctx):
    # A morning paper's "last night" is the eve of P, an evening paper's is P itself.
    return (ctx.published - _days(1), ctx.published)


@_rule(r"(this|last|previous|next|coming) (week|month|year)")
def _calendar_unit(m, ctx):
    step = {"this": 0, "last": -1, "previous": -1, "next": 1, "coming": 1}[m[1]]
    return _unit_span(m[2], _shift(ctx.published, m[2], step))


@_rule(r"(earlier|later) this (week|month|year)")
def _rest_of_unit(m, ctx):
    start, end = _unit_span(m[2], ctx.published)
    if m[1] == "earlier":
        span, edge = (start, ctx.published - _days(1)), "first"
    else:
        span, edge = (ctx.published + _days(1), end), "last"
    if span[1] < span[0]:
        raise DateError(f"publication date {ctx.published} is the {edge} day of its {m[2]}, "
                        f"so no day of the {m[2]} is {m[1]}")
    return span


@_rule(r"the (?:same day|day itself)|that day|the same (week|month|year)")
def _same(m, ctx):
    anchor = _need_anchor(ctx)
    if m[1]:
        return _join(_unit_span(m[1], anchor[0]), _unit_span(m[1], anchor[1]), ctx)
    return anchor


@_rule(r"the (?:next|following) day|the day after")
def _day_after(m, ctx):
    day = _need_anchor(ctx)[1] + _days(1)
    return (day, day)


@_rule(r"the (?:previous|preceding) day|the day before|the eve")
def _day_before(m, ctx):
    day = _need_anchor(ctx)[0] - _days(1)
    return (day, day)


@_rule(r"the (following|previous|preceding) (week|month|year)")
def _unit_beside_anchor(m, ctx):
    anchor = _need_anchor(ctx)
    if m[1] == "following":
        return _unit_span(m[2], _shift(anchor[1], m[2], 1))
    return _unit_span(m[2], _shift(anchor[0], m[2], -1))


@_rule(rf"(?:the )?(past|last|previous|next|coming) (?:({_NUM}) )?{_UNIT}s?")
def _rolling(m, ctx):
    n = _number(m[2]) if m[2] else 1
    if m[1] in ("next", "coming"):
        return (ctx.published, _shift(ctx.published, m[3], n))
    return (_shift(ctx.published, m[3], -n), ctx.published)


@_rule(r"(\d{4})-(\d{1,2})-(\d{1,2})")
def _iso_day(m, ctx):
    day = _day(int(m[1]), int(m[2]), int(m[3]))
    return (day, day)


@_rule(r"(\d{4})-(\d{1,2})")
def _iso_month(m, ctx):
    if not 1 <= int(m[2]) <= 12:
        raise DateError(f"there is no month {int(m[2])} (a range of years is written "
                        f"in full, as in 1950-1953)")
    return _month_span(int(m[1]), int(m[2]))


@_rule(r"(\d{4}(?:-\d{1,2}){0,2}) ?/ ?(\d{4}(?:-\d{1,2}){0,2})")
def _iso_interval(m, ctx):
    return _join(_parse(m[1], ctx, pair=False), _parse(m[2], ctx, pair=False), ctx)


@_rule(r"(?:from |between )?(\d{4}) ?(?:-|to|through|until|and) ?(\d{4})")
def _year_range(m, ctx):
    return _join(_year_span(int(m[1])), _year_span(int(m[2])), ctx)


@_rule(r"(?:the year )?(\d{4})")
def _year(m, ctx):
    return _year_span(int(m[1]))


@_rule(r"(?:the )?(\d{3}0)s")
def _decade(m, ctx):
    year = int(m[1])
    return (_year_span(max(year, 1))[0], _year_span(year + 9)[1])


def _part_of(part: str, rest: str, ctx: _Context):
    inner = _parse(rest, ctx, pair=False)
    if isinstance(inner, _Recurring):
        return _mapped(inner, lambda span: _part(part, span))
    return _part(part, inner)


@_rule(r"(?:the )?(early|mid|middle|late)[- ](.+)")
def _early_mid_late(m, ctx):
    return _part_of("mid" if m[1] == "middle" else m[1], m[2], ctx)


@_rule(r"(?:the )?(beginning|start|middle|end) of (?:the )?(.+)")
def _beginning_middle_end(m, ctx):
    part = {"beginning": "early", "start": "early", "middle": "mid", "end": "late"}[m[1]]
    return _part_of(part, m[2], ctx)


def _month_day(month: int, day: int, year: str | None):
    if year:
        date = _day(int(year), month, day)
        return (date, date)
    _check_day_in_some_year(month, day)
    return _yearly(lambda y: (datetime.date(y, month, day),) * 2)


@_rule(rf"({_MON}) {_D}(?: {_Y})?")
def _month_then_day(m, ctx):
    return _month_day(_MONTHS[m[1]], int(m[2]), m[3])


@_rule(rf"(?:the )?{_D} (?:of )?({_MON})(?: {_Y})?")
def _day_then_month(m, ctx):
    return _month_day(_MONTHS[m[2]], int(m[1]), m[3])


_DAY_LINK = r" ?(?:-|to|through|thru|until|till|and) ?"


def _day_range(month: int, first: int, last: int, year: str | None):
    if last < first:
        raise DateError(f"the range ends on day {last}, before it starts on day {first}")
    start, end = _month_day(month, first, year), _month_day(month, last, year)
    if year:
        return (start[0], end[1])
    return _yearly(lambda y: (datetime.date(y, month, first), datetime.date(y, month, last)))


@_rule(rf"({_MON}) {_D}{_DAY_LINK}{_D}(?: {_Y})?")
def _month_then_days(m, ctx):
    return _day_range(_MONTHS[m[1]], int(m[2]), int(m[3]), m[4])


@_rule(rf"{_D}{_DAY_LINK}{_D} (?:of )?({_MON})(?: {_Y})?")
def _days_then_month(m, ctx):
    return _day_range(_MONTHS[m[3]], int(m[1]), int(m[2]), m[4])


@_rule(rf"({_MON})(?: (?:of )?{_Y})?")
def _month(m, ctx):
    month = _MONTHS[m[1]]
    if m[2]:
        return _month_span(int(m[2]), month)
    return _yearly(lambda y: _month_span(y, month))


@_rule(_WD)
def _weekday(m, ctx):
    return _weekly(_WEEKDAYS[m[0]])


@_rule(r"(?:the )?weekend")
def _weekend(m, ctx):
    return _weekly(5, length=2)


@_rule(r"(.+) (?:morning|afternoon|evening|night|overnight)")
def _time_of_day(m, ctx):
    # The resolution is days, so the part of the day adds nothing.
    return _parse(m[1], ctx, pair=False)


@_rule(r"(this past|this coming|this|last|past|previous|next|coming) (.+)")
def _modified(m, ctx):
    inner = _parse(m[2], ctx, pair=False)
    if not isinstance(inner, _Recurring):
        raise _NoMatch(m[0])
    mode = {"this": None, "this past": "last", "last": "last", "past": "last",
            "previous": "last", "this coming": "next", "next": "next", "coming": "next"}[m[1]]
    if mode is None:
        return inner
    return _pick(inner, mode, ctx.published)


@_rule(rf"({_WD}) (.+)")
def _weekday_of(m, ctx):
    """A weekday within a date or a short span: "Thursday, July 12", "Friday last week"."""
    weekday = _WEEKDAYS[m[1]]
    start, end = _settle(_parse(m[2], ctx, pair=False), ctx)
    name = calendar.day_name[weekday]
    if start == end and start.weekday() != weekday:
        raise DateError(f"{start} is a {calendar.day_name[start.weekday()]}, not a {name}")
    days = [start + _days(k) for k in range(min((end - start).days + 1, 14))
            if (start + _days(k)).weekday() == weekday]
    if len(days) != 1:
        raise DateError(f"{start} to {end} holds {'no' if not days else 'more than one'} {name}")
    return (days[0], days[0])


@_rule(r"(?:ever )?since (.+)")
def _since(m, ctx):
    if m[1] in ("then", "that day", "that time"):
        start = _need_anchor(ctx)[0]
    else:
        try:
            inner = _parse(m[1], ctx, pair=False)
        except _NoMatch:
            raise DateError(f"{m[1]!r} names an event, not a date; give the date "
                            f"explicitly ('since 2018-06-12'), or resolve the event and pass its "
                            f"Interval as anchor= with 'since then'") from None
        # "Since" looks back from publication whatever the tense of the sentence.
        start = _settle(inner, ctx, "past")[0]
    if start > ctx.published:
        raise DateError(f"it starts on {start}, after the publication date {ctx.published}")
    return (start, ctx.published)


@_rule(rf"(?:({_NUM}) |({_VAGUE}) )?{_UNIT}(s?) {_DIRECTION}")
def _offset(m, ctx):
    count, vague, unit, plural, direction = m.groups()
    length, slack, vague_min, vague_max = _OFFSETS[unit]
    if count:
        n = _number(count)
        low, high = n * (length - slack), n * (length + slack)
    elif vague or plural:
        low, high = vague_min, vague_max
    else:
        raise _NoMatch(m[0])
    base = (ctx.published, ctx.published) if direction == "ago" else _need_anchor(ctx)
    if direction in _LATER:
        return (base[0] + _days(low), base[1] + _days(high))
    return (base[0] - _days(high), base[1] - _days(low))


@_rule(rf"within (?:(?:the )?(?:next )?({_NUM}) |({_VAGUE}) )?{_UNIT}(s?)")
def _within(m, ctx):
    count, vague, unit, plural = m.groups()
    length, _, _, vague_max = _OFFSETS[unit]
    if count:
        reach = _number(count) * length
    elif vague or plural:
        reach = vague_max
    else:
        raise _NoMatch(m[0])
    if ctx.anchor is not None:
        base = ctx.anchor
    elif ctx.tense == "future":
        base = (ctx.published, ctx.published)
    else:
        raise DateError("in the past tense it counts from another event, so it needs an "
                        "anchor: pass anchor= the Interval of that event (or tense='future' "
                        "if it counts from publication)")
    return (base[0], base[1] + _days(reach))


_LINK = re.compile(r" (?:and|to|through|thru|until|till|-) ")


def _pair(s: str, ctx: _Context) -> _Span:
    body = re.sub(r"^(?:from|between) ", "", s)
    for link in _LINK.finditer(body):
        try:
            first = _parse(body[:link.start()], ctx, pair=False)
            second = _parse(body[link.end():], ctx, pair=False)
        except _NoMatch:
            continue
        return _join(first, second, ctx)
    raise _NoMatch(s)


# -- the entry point ----------------------------------------------------------------------------

def resolve(text: str, published: datetime.date, *, tense: str = "past",
            anchor: Interval | None = None, file=None, item=None) -> Interval:
    """Resolve a date expression from a news article to an interval of days.

    Parameters
    ----------
    text : str
        The expression as it appears in the article ("last Thursday", "June 12, 2018",
        "a week later"); the grammar is in the module docstring.
    published : datetime.date
        The article's publication date, against which relative expressions are read.
    tense : {"past", "future"}, optional
        Whether the dated thing happened on or before publication ("past", the default) or is
        expected after it ("future"); decides which occurrence a year-less expression means.
    anchor : Interval, optional
        The interval of the event a relative expression ("two days later", "since then",
        "the following week") counts from.
    file, item : str, optional
        Where the expression comes from; carried into any :class:`~kg.errors.DateError`.

    Returns
    -------
    Interval
        The days the expression covers, with ``text`` as given.

    Raises
    ------
    DateError
        If ``tense`` is unknown, ``published`` is not a date, ``anchor`` is not an
        :class:`Interval`, the expression cannot be read, names an impossible date
        ("February 30", "2018-13-01"), a range ending before it starts ("1953-1950"), or is
        relative and no anchor is given.

    Examples
    --------
    >>> from datetime import date
    >>> P = date(2018, 7, 12)  # a Thursday
    >>> print(resolve("Thursday", P), resolve("Sunday", P, tense="future"))
    2018-07-12 2018-07-15
    >>> print(resolve("Friday and Saturday", P), resolve("last week", P))
    2018-07-06/2018-07-07 2018-07-02/2018-07-08
    >>> print(resolve("on June 12.", P), resolve("June 12", P, tense="future"))
    2018-06-12 2019-06-12
    >>> print(resolve("the early 1950s", P), resolve("since 1990", P))
    1950-01-01/1953-12-31 1990-01-01/2018-07-12
    >>> june12 = resolve("June 12", P)
    >>> print(resolve("a week later", P, anchor=june12), resolve("three days later", P, anchor=june12))
    2018-06-17/2018-06-21 2018-06-15
    >>> resolve("February 30", P, file="claims/x.yaml", item="c1")
    Traceback (most recent call last):
    ...
    kg.errors.DateError: claims/x.yaml: c1: date 'February 30': February has at most 29 days, so there is no February 30
    """
    try:
        if tense not in TENSES:
            raise DateError(f"unknown tense {tense!r}; use one of {', '.join(map(repr, TENSES))}")
        if not isinstance(published, datetime.date) or isinstance(published, datetime.datetime):
            raise DateError(f"the publication date must be a datetime.date, "
                            f"not {type(published).__name__}")
        if anchor is not None and not isinstance(anchor, Interval):
            raise DateError(f"the anchor must be an Interval, not {type(anchor).__name__}")
        if not isinstance(text, str):
            raise DateError(f"the expression must be a string, not {type(text).__name__}")
        ctx = _Context(published, tense,
                       None if anchor is None else (anchor.start, anchor.end))
        s = _normalise(text)
        if not s:
            raise DateError("the expression is empty")
        try:
            start, end = _settle(_parse(s, ctx), ctx)
        except _NoMatch:
            raise DateError("not a date expression this resolver reads (see kg.dates for the "
                            "grammar); give the date explicitly, e.g. 2018-06-12") from None
        except OverflowError:
            raise DateError("falls outside the calendar (years 1 to 9999)") from None
        return Interval(start, end, text)
    except DateError as err:
        raise DateError(f"date {text!r}: {err.message}", file=file, item=item) from None
