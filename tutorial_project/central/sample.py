"""Deterministic sample rows for the ``central`` app (tests and benchmarks).

``fill(count)`` inserts ``count`` rows into the original wide table with
plain SQL (no model class needed, so it works whatever the models say), and
``checksum(sql)`` digests the rows a query returns, in order, so that two
states of the database can be compared value by value.
"""

import datetime as dt
import decimal
import hashlib
import uuid

from django.db import connections, transaction

COLUMNS = ("id", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j")
WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta")


def row(n):
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    return (
        n,
        (n * 7919) % 100003 - 50000,
        f"{WORDS[n % len(WORDS)]} {n}",
        start + dt.timedelta(seconds=n * 37),
        (start + dt.timedelta(days=n % 3650)).date(),
        n % 3 == 0,
        f"text {n}, with 'quotes' and ünïcödé" if n % 5 else "",
        decimal.Decimal(n % 1000000) / 100,
        uuid.UUID(int=n) if n % 4 else None,
        n % 97,
        WORDS[(n * 3) % len(WORDS)],
    )


def fill(count, *, start=1, using="default", batch=10000):
    """Insert rows ``start``..``start + count - 1`` into ``central_central``."""
    connection = connections[using]
    qn = connection.ops.quote_name
    fields = ", ".join(qn(c) for c in COLUMNS)
    marks = ", ".join(["%s"] * len(COLUMNS))
    sql = f"INSERT INTO {qn('central_central')} ({fields}) VALUES ({marks})"  # noqa: S608
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for first in range(start, start + count, batch):
            last = min(first + batch, start + count)
            cursor.executemany(sql, [_adapt(connection, row(n)) for n in range(first, last)])
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('central_central', 'id'), %s)", [start + count]
            )


def _adapt(connection, values):
    ops = connection.ops
    out = list(values)
    out[3] = ops.adapt_datetimefield_value(out[3])
    out[4] = ops.adapt_datefield_value(out[4])
    out[7] = ops.adapt_decimalfield_value(out[7], 8, 2)
    if connection.vendor == "sqlite" and out[8] is not None:
        out[8] = out[8].hex
    return out


def checksum(sql, *, using="default"):
    """(row count, sha256) of what ``sql`` returns, every value as text, in order."""
    digest = hashlib.sha256()
    count = 0
    with connections[using].cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(5000):
            for values in rows:
                digest.update(repr(tuple(_text(v) for v in values)).encode())
                count += 1
    return count, digest.hexdigest()


def _text(value):
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, decimal.Decimal):
        return format(value.quantize(decimal.Decimal("0.01")), "f")
    if isinstance(value, float):
        return format(decimal.Decimal(str(value)).quantize(decimal.Decimal("0.01")), "f")
    if isinstance(value, memoryview | bytes):
        return bytes(value).hex()
    return str(value)
