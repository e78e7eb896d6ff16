"""Typed tables checked in SQL: the fast path of the portfolio engine's inputs.

A Parquet file, an Arrow table, a pandas or polars DataFrame or a DuckDB table whose
columns already have the policy's types (integers, decimals, text, booleans, dates)
need not go through the per-loan :class:`~followup_policy.snapshots.SnapshotReader`
row by row. Here DuckDB checks every row against a *conservative* restatement of what
the reader checks (required fields, enum members, bounds, date range, text length and
blankness, follow-up entries, the size of a history). A row that passes is one the
reader would accept with exactly these values, so it goes straight to the SQL of the
plan. Every other row (and every row of a loan one of whose follow-up entries fails)
goes through the reader itself, which gives the per-loan path's verdict: the checked
values, or the very reject message. So rows in = decisions + rejects, and messages stay
identical. A table with a column of any other type (a float amount, a date written as
text, a nested ``follow_ups`` column) is read by the reader entirely, as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from ...policy import Policy
from ...records import Record
from ...snapshots import MAX_DATE, MAX_FOLLOW_UPS, MAX_TEXT_LENGTH, MIN_DATE
from ._require import require
from .dialect import DECIMAL_SCALE, DUCKDB
from .plan import DECIMAL_TEXT
from .tables import CheckedInput, Reject, check_records, plain_row

__all__ = ["TypedSource", "bounds_ok", "check_typed", "missing_or", "register_checked",
           "typed_source"]

_INTEGERS = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                       "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"})
_MAX_TEXT_SCALE = 6
"""A decimal of scale <= 6 prints the same in DuckDB and Python (no exponent form)."""
_WHITESPACE = tuple(c for c in range(0x3001) if chr(c).isspace())
"""The code points ``str.strip`` removes: a value starting with one may be blank."""
_FU_COLUMNS = ("loan_id", "action", "date", "channel", "outcome")
_FAST = "__fp_fast"  # loans that passed every check
_KEYS = "__fp_keys"  # loan id of every input row
_ENTRIES = "__fp_entries"  # follow-up entries of every loan, with their own check
_BAD = "__fp_bad"  # loans with an entry that failed, or too many entries


@dataclass(frozen=True)
class TypedSource:
    """Loans (and follow-ups) as DuckDB relations with a dense ``__row``/``__pos``."""

    loans: str  # SQL of a relation: __row, then the input's columns
    loan_types: dict[str, str]
    follow_ups: str | None  # SQL of a relation: __pos, then the input's columns
    follow_up_types: dict[str, str]


def q(name: str) -> str:
    return DUCKDB.quote(name)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def typed_source(con: Any, loans: Any, follow_ups: Any, table_names: bool
                 ) -> TypedSource | None:
    """The inputs as DuckDB relations on ``con``, or None for inputs read as records
    (CSV, JSONL, JSON, an iterable of mappings)."""
    loan_sql = _relation(con, loans, "loans", "__row", table_names)
    if loan_sql is None:
        return None
    fu_sql = None
    if follow_ups is not None:
        fu_sql = _relation(con, follow_ups, "follow_ups", "__pos", table_names)
        if fu_sql is None:
            return None
    return TypedSource(loan_sql, _types(con, loan_sql), fu_sql,
                       _types(con, fu_sql) if fu_sql is not None else {})


def _relation(con: Any, source: Any, name: str, position: str, table_names: bool
              ) -> str | None:
    if isinstance(source, str) and table_names:
        return _table(con, source, position)
    if isinstance(source, (str, Path)):
        if Path(source).suffix.lower() != ".parquet":
            return None
        path = _literal(str(source))
        return (f"SELECT * EXCLUDE (file_row_number), file_row_number AS {position}"
                f" FROM read_parquet({path}, file_row_number = true)")
    table = _arrow_of(source)
    if table is None:
        return None
    pa = require("pyarrow")
    table = table.append_column(position, pa.array(range(table.num_rows), type=pa.int64()))
    registered = f"__fp_input_{name}"
    con.register(registered, table)
    return f"SELECT * FROM {registered}"


def _arrow_of(source: Any) -> Any:
    """An Arrow table of an Arrow table, record batch, pandas or polars DataFrame."""
    pa = require("pyarrow")
    if isinstance(source, pa.Table):
        return source
    if isinstance(source, pa.RecordBatch):
        return pa.Table.from_batches([source])
    if hasattr(source, "to_arrow") and hasattr(source, "columns"):  # polars
        return source.to_arrow()
    if hasattr(source, "to_dict") and hasattr(source, "columns"):  # pandas
        return pa.Table.from_pandas(source, preserve_index=False)
    return None


def _table(con: Any, name: str, position: str) -> str:
    """A table or view of the connection's database, rows numbered in storage order."""
    parts = [p for p in name.split(".") if p]
    found = con.execute(
        "SELECT table_catalog, table_schema, table_name, table_type FROM"
        " information_schema.tables WHERE table_name = ?"
        + (" AND table_schema = ?" if len(parts) >= 2 else "")
        + (" AND table_catalog = ?" if len(parts) >= 3 else "")
        + " ORDER BY table_catalog = current_database() DESC,"
        " table_schema = current_schema() DESC",
        [parts[-1], *reversed(parts[:-1])]).fetchall() if parts else []
    if not found:
        raise ValueError(f"no table or view named {name!r} in the DuckDB connection's"
                         " database (a TEMP table is not visible: create it as a table)")
    catalog, schema, table, kind = found[0]
    qualified = f"{q(catalog)}.{q(schema)}.{q(table)}"
    order = "rowid" if kind == "BASE TABLE" else ""
    return (f"SELECT (row_number() OVER (ORDER BY {order}) - 1) AS {position}, *"
            f" FROM {qualified}") if order else (
        f"SELECT (row_number() OVER () - 1) AS {position}, * FROM {qualified}")


def _types(con: Any, sql: str) -> dict[str, str]:
    return {row[0]: str(row[1]).upper() for row in con.execute(f"DESCRIBE {sql}").fetchall()}


# -- what the reader checks, restated conservatively in SQL ------------------------------------

def _text_ok(column: str) -> str:
    """Non-blank text the reader keeps as it is: not too long, not starting with space."""
    spaces = ", ".join(str(c) for c in _WHITESPACE)
    return (f"(strlen({column}) BETWEEN 1 AND {MAX_TEXT_LENGTH}"
            f" AND unicode({column}) NOT IN ({spaces}))")


def _date_ok(column: str) -> str:
    return f"({column} BETWEEN DATE '{MIN_DATE.isoformat()}' AND DATE '{MAX_DATE.isoformat()}')"


def _number(value: Decimal) -> str | None:
    """A bound as an exact SQL decimal, or None if it does not fit DECIMAL(38, 10)."""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -DECIMAL_SCALE or abs(value) >= 10**18:
        return None
    return f"CAST('{value}' AS DECIMAL(38, {DECIMAL_SCALE}))"


@dataclass
class _Loans:
    """The checks (``ok``) and the SQL columns (``columns``) of the loans table."""

    ok: list[str]
    columns: list[str]


def _decimal_scale(kind: str) -> int | None:
    if kind.startswith("DECIMAL(") and kind.endswith(")"):
        return int(kind[8:-1].split(",")[1])
    return None


def _loan_checks(policy: Policy, types: Mapping[str, str], as_of: date | None,
                 default_as_of: date | None) -> _Loans | None:
    """None if a column has a type this path does not check (then the reader reads all)."""
    if "follow_ups" in types:
        return None  # nested history: the reader's
    checks = _Loans([], ["__row"])
    loan_id = types.get("loan_id")
    if loan_id == "VARCHAR":
        checks.ok.append(_text_ok(q("loan_id")))
    elif loan_id in _INTEGERS:
        checks.ok.append(f"{q('loan_id')} IS NOT NULL")
    else:
        return None
    checks.columns.append(f"CAST({q('loan_id')} AS VARCHAR) AS {q('loan_id')}")
    if types.get("disbursement_date") != "DATE":
        return None
    checks.ok.append(_date_ok(q("disbursement_date")))
    checks.columns.append(q("disbursement_date"))
    on = [f"DATE '{as_of.isoformat()}'"] if as_of else []
    if "as_of" in types:
        if types["as_of"] != "DATE":
            return None
        checks.ok.append(f"({q('as_of')} IS NULL OR {_date_ok(q('as_of'))})")
        on.append(q("as_of"))
    if default_as_of is not None:
        on.append(f"DATE '{default_as_of.isoformat()}'")
    if not on:
        return None
    effective = f"COALESCE({', '.join(on)})" if len(on) > 1 else on[0]
    checks.ok.append(f"{effective} IS NOT NULL")
    checks.columns.append(f"{effective} AS {q('as_of')}")
    coercers = {c.name: c for c in policy._reader._coercers}
    for name, spec in policy.document.fields.items():
        if not _field(checks, name, spec, types.get(name), coercers[name].default,
                      coercers[name].required):
            return None
    return checks


_SQL_TYPES = {"int": "BIGINT", "decimal": f"DECIMAL(38, {DECIMAL_SCALE})", "string": "VARCHAR",
              "enum": "VARCHAR", "bool": "BOOLEAN", "date": "DATE"}


def _default_sql(kind: str, default: Any) -> str:
    if default is None:
        return f"CAST(NULL AS {_SQL_TYPES[kind]})"
    if kind in ("string", "enum"):
        return _literal(default)
    if kind == "bool":
        return "TRUE" if default else "FALSE"
    if kind == "date":
        return f"DATE '{default.isoformat()}'"
    return f"CAST('{default}' AS {_SQL_TYPES[kind]})"


def _field(checks: _Loans, name: str, spec: Any, kind: str | None, default: Any,
           required: bool) -> bool:
    """Add one declared field's check and columns; False if its column's type is not ours."""
    column = q(name)
    fallback = _default_sql(spec.type, default)
    text_column = q(DECIMAL_TEXT + name)
    default_text = "CAST(NULL AS VARCHAR)" if default is None else _literal(str(default))
    if kind is None:  # not in the table: every row has the default (or is missing it)
        if required and default is None:
            checks.ok.append("FALSE")
        checks.columns.append(f"{fallback} AS {column}")
        if spec.type == "decimal":
            if default is not None and _number(default) is None:
                return False
            checks.columns.append(f"{default_text} AS {text_column}")
        return True
    value_ok: str
    if spec.type == "int" and kind in _INTEGERS:
        value_ok = f"{column} BETWEEN -9223372036854775807 AND 9223372036854775807"
    elif spec.type == "decimal" and (kind in _INTEGERS or (
            (_decimal_scale(kind) or 99) <= _MAX_TEXT_SCALE)):
        value_ok = f"abs({column}) < 1000000000000000000"
    elif spec.type == "string" and kind == "VARCHAR":
        value_ok = _text_ok(column)
    elif spec.type == "enum" and kind == "VARCHAR":
        allowed = ", ".join(_literal(v) for v in spec.values or ())
        value_ok = f"{_text_ok(column)} AND {column} IN ({allowed})"
    elif spec.type == "bool" and kind == "BOOLEAN":
        value_ok = "TRUE"
    elif spec.type == "date" and kind == "DATE":
        value_ok = _date_ok(column)
    else:
        return False
    bounds = bounds_ok(spec, column)
    if bounds is None or (spec.type == "decimal" and default is not None
                          and _number(default) is None):
        return False
    checks.ok.append(missing_or(column, value_ok + bounds, required and default is None))
    target = _SQL_TYPES[spec.type]
    checks.columns.append(f"COALESCE(TRY_CAST({column} AS {target}), {fallback}) AS {column}")
    if spec.type == "decimal":
        checks.columns.append(f"COALESCE({_shortest_text(column)}, {default_text})"
                              f" AS {text_column}")
    return True


def bounds_ok(spec: Any, value: str) -> str | None:
    """`` AND value >= min AND value <= max`` for a number field's declared bounds (empty
    for other fields); None when a bound does not fit an exact SQL decimal."""
    if spec.type not in ("int", "decimal"):
        return ""
    text = ""
    for bound, op in ((spec.min, ">="), (spec.max, "<=")):
        if bound is not None:
            literal = _number(bound)
            if literal is None:
                return None
            text += f" AND {value} {op} {literal}"
    return text


def missing_or(value: str, ok: str, required: bool) -> str:
    """A field passes when missing (unless required, without a default) or when ``ok``
    holds of its value (an unknown ``ok`` fails: the reader decides such a row)."""
    missing_ok = "FALSE" if required else "TRUE"
    return f"(CASE WHEN {value} IS NULL THEN {missing_ok} ELSE COALESCE({ok}, FALSE) END)"


def _shortest_text(column: str) -> str:
    """A decimal's text without trailing zeros (``0.1300`` -> ``0.13``, ``100.00`` ->
    ``100``), as :func:`followup_policy.io.plain_value` reads a Parquet decimal."""
    text = f"CAST({column} AS VARCHAR)"
    return (f"regexp_replace(regexp_replace({text}, '(\\.[0-9]*?)0+$', '\\1'),"
            f" '\\.$', '')")


def _entry_checks(types: Mapping[str, str]) -> str | None:
    """Whether an entry is one the reader takes as it is; None if a column is not ours."""
    if types.get("loan_id") not in ("VARCHAR", *_INTEGERS) or types.get("action") != "VARCHAR":
        return None
    if types.get("date") != "DATE":
        return None
    ok = [_text_ok(q("action")), _date_ok(q("date"))]
    for name in ("channel", "outcome"):
        if name in types:
            if types[name] != "VARCHAR":
                return None
            ok.append(f"({q(name)} IS NULL OR strlen({q(name)}) <= {MAX_TEXT_LENGTH})")
    return " AND ".join(f"COALESCE({c}, FALSE)" for c in ok)


# -- the check ---------------------------------------------------------------------------------

def check_typed(con: Any, policy: Policy, source: TypedSource, as_of: date | None,
                default_as_of: date | None) -> CheckedInput | None:
    """Check typed inputs on ``con``; register the ``loans`` and ``follow_ups`` views the
    plan reads. None if a column's type is not one this path checks."""
    checks = _loan_checks(policy, source.loan_types, as_of, default_as_of)
    entry_ok = _entry_checks(source.follow_up_types) if source.follow_ups else "TRUE"
    if checks is None or entry_ok is None:
        return None
    ok = " AND ".join(checks.ok)
    con.execute(f"CREATE OR REPLACE TEMPORARY TABLE {_KEYS} AS SELECT __row,"
                f" CAST(loan_id AS VARCHAR) AS __key, {ok} AS __ok FROM ({source.loans}) s")
    fu = source.follow_up_types
    if source.follow_ups is not None:
        optional = ", ".join(f"{q(n) if n in fu else 'CAST(NULL AS VARCHAR)'} AS {q(n)}"
                             for n in ("channel", "outcome"))
        con.execute(
            f"CREATE OR REPLACE TEMPORARY TABLE {_ENTRIES} AS SELECT k.__row, f.__pos,"
            f" f.{q('action')}, f.{q('date')}, {optional}, {entry_ok} AS __ok"
            f" FROM ({source.follow_ups}) f JOIN {_KEYS} k"
            f" ON CAST(f.{q('loan_id')} AS VARCHAR) = k.__key")
    else:
        con.execute(f"CREATE OR REPLACE TEMPORARY TABLE {_ENTRIES} AS SELECT"
                    " CAST(NULL AS BIGINT) AS __row, CAST(NULL AS BIGINT) AS __pos,"
                    " CAST(NULL AS VARCHAR) AS action, CAST(NULL AS DATE) AS date,"
                    " CAST(NULL AS VARCHAR) AS channel, CAST(NULL AS VARCHAR) AS outcome,"
                    " TRUE AS __ok WHERE FALSE")
    con.execute(f"CREATE OR REPLACE TEMPORARY TABLE {_BAD} AS SELECT __row FROM {_ENTRIES}"
                f" GROUP BY __row HAVING NOT bool_and(__ok) OR count(*) > {MAX_FOLLOW_UPS}")
    con.execute(f"CREATE OR REPLACE TEMPORARY TABLE {_FAST} AS SELECT __row FROM {_KEYS}"
                f" WHERE __ok AND __row NOT IN (SELECT __row FROM {_BAD})")
    count = con.execute(f"SELECT count(*) FROM {_KEYS}").fetchall()[0][0]
    slow = _slow_records(con, source)
    checked = check_records(policy, slow, as_of, default_as_of)
    checked.count = count
    if source.follow_ups is not None:
        checked.unmatched_follow_ups = _unmatched(con, source.follow_ups)
    register_checked(con, checked, f"SELECT {', '.join(checks.columns)} FROM"
                     f" ({source.loans}) s SEMI JOIN {_FAST} USING (__row)", _ENTRIES, _FAST)
    return checked


def register_checked(con: Any, checked: CheckedInput, fast_loans: str, entries: str,
                     fast: str) -> None:
    """The ``loans`` and ``follow_ups`` tables the plan reads: the rows that passed the
    SQL check (``fast_loans``; the entries of table ``entries`` whose loan is in table
    ``fast``) and, after them, the rows the reader checked (``checked``)."""
    con.register("__fp_checked_loans", checked.loans)
    con.register("__fp_checked_follow_ups", checked.follow_ups)
    con.execute(f"CREATE OR REPLACE TEMPORARY TABLE loans AS {fast_loans}"
                " UNION ALL BY NAME SELECT * FROM __fp_checked_loans")
    con.execute(
        "CREATE OR REPLACE TEMPORARY TABLE follow_ups AS"
        " SELECT e.__row, CAST(row_number() OVER (PARTITION BY e.__row ORDER BY e.date,"
        " e.__pos) - 1 AS BIGINT) AS __seq, e.action, e.date, e.channel, e.outcome"
        f" FROM {entries} e SEMI JOIN {fast} USING (__row)"
        " UNION ALL BY NAME SELECT * FROM __fp_checked_follow_ups")


def _unmatched(con: Any, follow_ups: str) -> list[Reject]:
    """Follow-up rows whose loan_id names no loan of the table, or none (as the record
    path reports them: every row reaches a loan or is listed)."""
    rows = con.execute(
        f"SELECT f.__pos, CAST(f.{q('loan_id')} AS VARCHAR) FROM ({follow_ups}) f"
        f" ANTI JOIN {_KEYS} k ON CAST(f.{q('loan_id')} AS VARCHAR) = k.__key"
        " ORDER BY f.__pos").fetchall()
    return [Reject(position, None, None, "loan_id", "follow-up row without a loan_id")
            if key is None else
            Reject(position, None, key, "loan_id",
                   f"follow-up row for loan '{key}', which is not in the loans table")
            for position, key in rows]


def _slow_records(con: Any, source: TypedSource) -> Iterator[Record]:
    """The rows that did not pass, as the records the reader would have read, with their
    entries from the follow-ups table (input order) merged in as ``follow_ups``."""
    rows = _arrow(con, f"SELECT * FROM ({source.loans}) s ANTI JOIN {_FAST} USING (__row)"
                  " ORDER BY __row").to_pylist()
    if not rows:
        return
    history: dict[int, list[dict[str, Any]]] = {}
    if source.follow_ups is not None:
        entries = _arrow(con, f"SELECT e.__row, {', '.join(q(c) for c in _FU_COLUMNS[1:])}"
                         f" FROM {_ENTRIES} e ANTI JOIN {_FAST} USING (__row)"
                         " ORDER BY e.__row, e.__pos").to_pylist()
        for entry in entries:
            row = entry.pop("__row")
            history.setdefault(row, []).append(plain_row(entry))
    for raw in rows:
        index = raw.pop("__row")
        data = plain_row(raw)
        found = history.get(index)
        if found:
            data["follow_ups"] = found
        yield Record(index, None, data)


def _arrow(con: Any, sql: str) -> Any:
    relation = con.sql(sql)
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    return fetch()
