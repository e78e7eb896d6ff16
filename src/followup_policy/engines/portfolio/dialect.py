"""The SQL differences between backends, each in one place.

The compiler writes portable SQL through these methods only; DuckDB and Spark SQL
differ in quoting, date arithmetic, list functions and hashing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from ...durations import Duration

__all__ = ["DUCKDB", "SPARK", "Dialect", "DialectName", "dialect_named"]

DialectName = Literal["duckdb", "spark"]

DECIMAL_SCALE = 10
"""Scale of decimal fields in SQL: values with more places are evaluated per loan."""


@dataclass(frozen=True)
class Dialect:
    """How one backend spells the few things the compiler needs."""

    name: DialectName

    @property
    def spark(self) -> bool:
        return self.name == "spark"

    def quote(self, identifier: str) -> str:
        if self.spark:
            return "`" + identifier.replace("`", "``") + "`"
        return '"' + identifier.replace('"', '""') + '"'

    def string(self, text: str) -> str:
        if self.spark:
            return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return "'" + text.replace("'", "''") + "'"

    def date(self, value: date) -> str:
        return f"DATE '{value.isoformat()}'"

    def decimal(self, value: Decimal | int) -> str:
        number = Decimal(value)
        _, digits, exponent = number.as_tuple()
        assert isinstance(exponent, int)
        scale = max(0, -exponent)
        precision = min(38, max(len(digits) + max(0, exponent), scale) + 1)
        return f"CAST('{number:f}' AS DECIMAL({precision},{scale}))"

    def decimal_type(self) -> str:
        return f"DECIMAL(38,{DECIMAL_SCALE})"

    def add(self, day: str, duration: Duration, sign: int = 1) -> str:
        """``day`` plus (or minus) a duration, months clamped to the month's end."""
        amount = duration.amount * sign
        if duration.unit in ("days", "weeks"):
            days = amount * (7 if duration.unit == "weeks" else 1)
            if self.spark:
                return f"date_add({day}, {days})"
            # DATE + INTEGER is a DATE: three times cheaper than through an INTERVAL
            return f"({day} + ({days}))"
        months = amount * (12 if duration.unit == "years" else 1)
        if self.spark:
            return f"add_months({day}, {months})"
        return f"CAST({day} + INTERVAL ({months}) MONTH AS DATE)"

    def add_months_expr(self, day: str, months: str) -> str:
        if self.spark:
            return f"add_months({day}, {months})"
        return f"CAST({day} + to_months(CAST({months} AS INTEGER)) AS DATE)"

    def days_between(self, start: str, end: str) -> str:
        if self.spark:
            return f"CAST(datediff({end}, {start}) AS BIGINT)"
        return f"date_diff('day', {start}, {end})"

    def year(self, day: str) -> str:
        return f"year({day})"

    def month(self, day: str) -> str:
        return f"month({day})"

    def length(self, text: str) -> str:
        return f"CAST(char_length({text}) AS BIGINT)" if self.spark else f"length({text})"

    def non_null_list(self, items: list[str]) -> str:
        """An array of the non-null values among ``items``, in order."""
        if not items:
            return "array()" if self.spark else "[]"
        if self.spark:
            return f"filter(array({', '.join(items)}), x -> x IS NOT NULL)"
        return f"list_filter([{', '.join(items)}], lambda x: x IS NOT NULL)"

    def array(self, items: list[str]) -> str:
        if self.spark:
            return f"array({', '.join(items)})"
        return f"[{', '.join(items)}]"

    def empty_string_array(self) -> str:
        return "CAST(array() AS ARRAY<STRING>)" if self.spark else "CAST([] AS VARCHAR[])"

    def join(self, array: str, separator: str) -> str:
        if self.spark:
            return f"array_join({array}, {self.string(separator)})"
        return f"array_to_string({array}, {self.string(separator)})"

    def size(self, array: str) -> str:
        return f"size({array})" if self.spark else f"len({array})"

    def struct(self, fields: list[tuple[str, str]]) -> str:
        if self.spark:
            return "named_struct(" + ", ".join(f"'{k}', {v}" for k, v in fields) + ")"
        return "{" + ", ".join(f"'{k}': {v}" for k, v in fields) + "}"

    def text(self, expr: str) -> str:
        return f"CAST({expr} AS STRING)" if self.spark else f"CAST({expr} AS VARCHAR)"

    def without(self, sql: str, columns: list[str]) -> str:
        """``sql`` without the (quoted) ``columns``: DuckDB then stores fewer columns; Spark
        has no ``EXCLUDE`` and keeps them (a checkpoint only reads what is used)."""
        if self.spark or not columns:
            return sql
        return f"SELECT * EXCLUDE ({', '.join(columns)}) FROM ({sql}) s"

    def string_type(self) -> str:
        return "STRING" if self.spark else "VARCHAR"

    def task_key(self, loan_id: str, action_id: str, due: str) -> str:
        """sha256(loan_id ␟ action_id ␟ due ISO) in hex, first 20 characters."""
        sep = "char(31)" if self.spark else "chr(31)"
        joined = f"concat({loan_id}, {sep}, {action_id}, {sep}, {self.text(due)})"
        digest = f"sha2({joined}, 256)" if self.spark else f"sha256({joined})"
        return f"substr({digest}, 1, 20)"


DUCKDB = Dialect("duckdb")
SPARK = Dialect("spark")


def dialect_named(name: str) -> Dialect:
    if name == "duckdb":
        return DUCKDB
    if name == "spark":
        return SPARK
    raise ValueError(f"unknown SQL dialect {name!r}: use duckdb or spark")
