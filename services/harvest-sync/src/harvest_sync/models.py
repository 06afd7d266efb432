"""Tables of the harvest-sync database. The Harvest connection, push queue and dead
letters arrive with the Harvest issue; the baseline migration only creates the schema's
version table, so readiness and migrations already work like the other services'."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import DeclarativeBase

from alooba_common.db import UtcDateTime, new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()
    type_annotation_map = {dt.datetime: UtcDateTime()}
