"""alooba_common.db.EnumText: a status column is its enum in Python, plain text in the database."""

from __future__ import annotations

from enum import StrEnum

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text
from sqlalchemy.exc import StatementError

from alooba_common.db import EnumText


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"


def table() -> tuple[Table, MetaData]:
    metadata = MetaData()
    return Table(
        "thing",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("colour", EnumText(Colour, 16)),
    ), metadata


def test_a_status_reads_back_as_its_enum_member_and_is_stored_as_its_text() -> None:
    things, metadata = table()
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(things), [{"id": 1, "colour": Colour.RED}, {"id": 2, "colour": "green"}]
        )
        read = connection.execute(select(things.c.colour).order_by(things.c.id)).scalars().all()
        stored = connection.execute(text("SELECT colour FROM thing ORDER BY id")).scalars().all()
    assert read == [Colour.RED, Colour.GREEN]
    assert all(type(value) is Colour for value in read)
    assert stored == ["red", "green"]
    assert [type(value) for value in stored] == [str, str]


def test_a_value_outside_the_enum_is_refused_before_it_is_written() -> None:
    things, metadata = table()
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with (
        engine.begin() as connection,
        pytest.raises(StatementError, match="'blue' is not a valid Colour"),
    ):
        connection.execute(insert(things).values(id=1, colour="blue"))


def test_the_column_is_a_plain_varchar_of_its_length() -> None:
    things, _ = table()
    assert str(things.c.colour.type.impl) == "VARCHAR(16)"


def test_the_outbox_status_harvest_mode_and_event_outcome_columns_are_enums_in_their_varchars() -> (
    None
):
    """The columns made enums keep the VARCHAR their migrations created (no migration)."""
    from alooba.candidates.v1 import candidates_pb2
    from alooba.harvest_sync.v1 import harvest_sync_pb2
    from alooba_common.outbox import OutboxStatus
    from assessments.store.models import OUTBOX as ASSESSMENTS_OUTBOX
    from candidates.store.models import Outcome, WebhookEvent
    from console.store.models import OUTBOX as CONSOLE_OUTBOX
    from harvest_sync.store.credentials import HarvestMode
    from harvest_sync.store.models import OUTBOX as HARVEST_OUTBOX
    from harvest_sync.store.models import Connection

    columns = [
        (ASSESSMENTS_OUTBOX.c.status, OutboxStatus, "VARCHAR(16)"),
        (CONSOLE_OUTBOX.c.status, OutboxStatus, "VARCHAR(16)"),
        (HARVEST_OUTBOX.c.status, OutboxStatus, "VARCHAR(16)"),
        (Connection.__table__.c.mode, HarvestMode, "VARCHAR(8)"),
        (WebhookEvent.__table__.c.outcome, Outcome, "VARCHAR(24)"),
    ]
    for column, enum, varchar in columns:
        assert isinstance(column.type, EnumText), column
        assert column.type.enum is enum, column
        assert str(column.type.impl) == varchar, column
    # Each has its counterpart in the protos, by name.
    assert {f"EVENT_OUTCOME_{member.name}" for member in Outcome} <= set(
        candidates_pb2.EventOutcome.keys()
    )
    assert {f"CONNECTION_MODE_{member.name}" for member in HarvestMode} <= set(
        harvest_sync_pb2.ConnectionMode.keys()
    )
