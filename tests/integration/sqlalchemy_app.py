"""A FastAPI app over a SQLAlchemy sync Session on a SQLite file (served by the tests).

One Session, made lazily on the thread-sensitive thread, with SQLite's
check_same_thread on: any call that ran on another thread would raise.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from sqlalchemy import Integer, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from synchronaut import synchronaut


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "rows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)


_session: Session | None = None


def _db() -> Session:
    global _session
    if _session is None:
        engine = create_engine(
            f"sqlite:///{os.environ['SQLALCHEMY_APP_DB']}",
            connect_args={"check_same_thread": True},
        )
        Base.metadata.create_all(engine)
        _session = Session(engine)
    return _session


@synchronaut(thread_sensitive=True)
def insert_and_read(key: str) -> str:
    session = _db()
    session.add(Row(key=key))
    session.commit()
    found = session.scalars(select(Row).where(Row.key == key)).one()
    return found.key


@synchronaut(thread_sensitive=True)
def count_rows() -> int:
    return len(_db().scalars(select(Row)).all())


app = FastAPI()


@app.post("/rows/{key}")
async def create_row(key: str) -> dict[str, str]:
    return {"key": await insert_and_read.async_(key)}


@app.get("/rows/count")
async def row_count() -> dict[str, int]:
    return {"count": await count_rows.async_()}
