"""Reading the audit log's filters: the same rules for the portal page, the API and exports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from governance.audit import EventFilter
from meshplatform.errors import Invalid


def test_no_filter_is_an_empty_filter() -> None:
    assert EventFilter.from_query({}) == EventFilter()
    assert EventFilter.from_query({"actor": " ", "since": "", "page": "2"}) == EventFilter()


def test_words_are_taken_as_given_without_surrounding_spaces() -> None:
    query = {"actor": " ethan ", "domain": "sales", "action": "product.updated"}

    assert EventFilter.from_query(query) == EventFilter(
        actor="ethan", domain="sales", action="product.updated"
    )


def test_a_date_covers_its_whole_day_in_utc() -> None:
    event_filter = EventFilter.from_query({"since": "2026-05-01", "until": "2026-05-02"})

    assert event_filter.since == datetime(2026, 5, 1, tzinfo=UTC)
    assert event_filter.until == datetime(2026, 5, 2, 23, 59, 59, 999999, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-05-01T14:30", datetime(2026, 5, 1, 14, 30, tzinfo=UTC)),
        ("2026-05-01 14:30:15", datetime(2026, 5, 1, 14, 30, 15, tzinfo=UTC)),
        ("2026-05-01T14:30:00Z", datetime(2026, 5, 1, 14, 30, tzinfo=UTC)),
        ("2026-05-01T16:30:00+02:00", datetime(2026, 5, 1, 14, 30, tzinfo=UTC)),
        ("2026-05-01T14:30:00.123456+00:00", datetime(2026, 5, 1, 14, 30, 0, 123456, tzinfo=UTC)),
    ],
)
def test_a_date_and_time_is_utc_unless_it_has_an_offset(text: str, moment: datetime) -> None:
    event_filter = EventFilter.from_query({"since": text, "until": text})

    assert event_filter.since == moment == event_filter.until
    assert event_filter.since.utcoffset() is not None


def test_an_offset_is_kept() -> None:
    since = EventFilter.from_query({"since": "2026-05-01T16:30+02:00"}).since

    assert since is not None
    assert since.tzinfo == timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    "text",
    ["yesterday", "2026-02-30", "2026-05-01T25:00", "01/05/2026", "2026-05-01T14:30 02:00", "1e9"],
)
def test_an_unreadable_time_is_invalid_and_named(text: str) -> None:
    with pytest.raises(Invalid) as error:
        EventFilter.from_query({"since": text, "until": text})

    assert set(error.value.fields) == {"since", "until"}
    assert "is not a date (2026-05-01) or a date and time" in error.value.fields["since"]


def test_an_end_before_the_start_is_invalid() -> None:
    with pytest.raises(Invalid) as error:
        EventFilter.from_query({"since": "2026-05-02", "until": "2026-05-01"})

    assert error.value.fields == {"until": "The end is before the start."}


def test_the_same_day_as_start_and_end_is_that_day() -> None:
    event_filter = EventFilter.from_query({"since": "2026-05-01", "until": "2026-05-01"})

    assert event_filter.since is not None and event_filter.until is not None
    assert event_filter.until - event_filter.since == timedelta(days=1, microseconds=-1)


def test_a_null_character_is_invalid_rather_than_a_database_error() -> None:
    with pytest.raises(Invalid) as error:
        EventFilter.from_query({"actor": "a\x00", "domain": "\x00", "action": "x\x00y"})

    assert set(error.value.fields) == {"actor", "domain", "action"}
