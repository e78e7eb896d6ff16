"""Typed tables checked in SQL (engines/portfolio/typed.py) against the per-loan path.

A typed table (Arrow, Parquet, pandas, polars, a DuckDB table) is checked by DuckDB; a
row the check cannot pass goes through the policy's reader. Random typed portfolios
with nulls, blanks, bad enum members, out-of-range numbers and dates, bad follow-up
entries, must give exactly the interpreter's decisions and the reader's reject messages.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("duckdb", reason="the portfolio extra (duckdb) is not installed")
pa = pytest.importorskip("pyarrow", reason="the portfolio extra (pyarrow) is missing")

import duckdb  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

import followup_policy as fp  # noqa: E402
from followup_policy.engines.portfolio import Reject, evaluate_portfolio  # noqa: E402
from followup_policy.engines.portfolio.engine import (  # noqa: E402
    _run_statements,
    duckdb_session,
    policy_sql,
)
from followup_policy.engines.portfolio.tables import records_from  # noqa: E402
from followup_policy.engines.portfolio.typed import check_typed, typed_source  # noqa: E402

POLICY = fp.loads_policy("""\
policy: {id: typed, title: 类型, version: "1"}
fields:
  i1: {type: int, min: 0, max: 100}
  i2: {type: int, default: 7}
  d1: {type: decimal, min: 0}
  d2: {type: decimal, default: 1.5}
  b1: {type: bool}
  t: {type: enum, values: [low, medium, high], required: true}
  s: {type: string}
  dt1: {type: date}
timing_nodes:
  - {id: n0, title: 节点, after: 1 month, window: 10 days, channel: phone}
  - {id: n1, title: 锚点, after: 2 days, anchor: dt1, channel: phone, when: b1}
risk_tiers:
  - {tier: high, when: 'i1 > 50 or t == "high"'}
  - {tier: low}
frequency:
  high: {every: 1 month, channel: phone}
  low: {every: 3 months, channel: sms}
rules:
  - {id: r0, title: 规则, severity: low, when: 'd1 / d2 > 1 and s != "vip"',
     action: {kind: review, after: 3 days, channel: phone}}
  - {id: r1, title: 规则1, severity: low, when: 'i2 >= 7', cooldown: 1 month,
     action: {kind: review, after: 1 day, anchor: dt1, channel: phone}}
  - {id: r2, title: 规则2, severity: low, when: 'is_set(s)',
     action: {kind: review, after: 5 days, channel: phone}}
""", "typed.yaml")
AS_OF = date(2026, 11, 28)

SCHEMA = pa.schema([("loan_id", pa.string()), ("disbursement_date", pa.date32()),
                    ("as_of", pa.date32()), ("i1", pa.int64()), ("i2", pa.int64()),
                    ("d1", pa.decimal128(12, 2)), ("d2", pa.decimal128(12, 2)),
                    ("b1", pa.bool_()), ("t", pa.string()), ("s", pa.string()),
                    ("dt1", pa.date32()), ("extra", pa.string())])
FU_SCHEMA = pa.schema([("loan_id", pa.string()), ("action", pa.string()),
                       ("date", pa.date32()), ("channel", pa.string()),
                       ("outcome", pa.string()), ("performed_by", pa.string())])

days = st.one_of(st.dates(date(2024, 1, 1), date(2026, 12, 31)),
                 st.sampled_from([date(2024, 2, 29), date(2026, 1, 31)]))
OLD = date(1850, 1, 1)  # before the dates a snapshot may carry
good_loans = st.fixed_dictionaries({
    "loan_id": st.sampled_from(["L1", "L2", "贷款3", "L4", " L5"]),
    "disbursement_date": days,
    "as_of": st.one_of(st.none(), st.none(), days),
    "i1": st.one_of(st.none(), st.integers(0, 100)),
    "i2": st.one_of(st.none(), st.integers(-5, 10)),
    "d1": st.one_of(st.none(), st.sampled_from(["0.30", "2.50", "0.00", "1234.56"])
                    .map(Decimal)),
    "d2": st.one_of(st.none(), st.sampled_from(["0.00", "1.50", "0.25"]).map(Decimal)),
    "b1": st.one_of(st.none(), st.booleans()),
    "t": st.sampled_from(["low", "medium", "high"]),
    "s": st.sampled_from([None, "vip", "ok", " x", "中文", "\u3000中文"]),
    "dt1": st.one_of(st.none(), days),
    "extra": st.one_of(st.none(), st.just("x")),
})
# one value the reader refuses, or treats as missing, or that the SQL check cannot decide
BAD_VALUES = [("loan_id", ""), ("loan_id", None), ("loan_id", "\u3000"),
              ("disbursement_date", None), ("disbursement_date", OLD), ("as_of", OLD),
              ("i1", -3), ("i1", 120), ("d1", Decimal("-1.00")), ("t", "hgih"), ("t", " low"),
              ("t", ""), ("t", None), ("s", ""), ("s", " "), ("s", "\u3000"),
              ("s", "a" * 10_001), ("dt1", OLD)]
loans = st.builds(lambda row, bad: {**row, **dict(bad)}, good_loans,
                  st.lists(st.sampled_from(BAD_VALUES), max_size=1))
good_entries = st.fixed_dictionaries({
    "loan_id": st.sampled_from(["L1", "L2", "贷款3", "L4", " L5", "L9"]),
    "action": st.sampled_from(["n0", "n1", "r0", "r1", "r2", "frequency"]),
    "date": days,
    "channel": st.sampled_from(["phone", "sms", "site_visit", None]),
    "outcome": st.sampled_from(["reached", "no_answer", None]),
    "performed_by": st.sampled_from(["A1", None]),
})
BAD_ENTRIES = [("loan_id", None), ("action", ""), ("action", " n0"), ("action", None),
               ("date", None), ("date", OLD), ("channel", "x" * 10_001)]
entries = st.builds(lambda row, bad: {**row, **dict(bad)}, good_entries,
                    st.lists(st.sampled_from(BAD_ENTRIES), max_size=1))


def _expected(loan_table: Any, fu_table: Any, as_of: date | None) -> list[str]:
    """The per-loan path: each record as the reader sees it, then ``Policy.evaluate``."""
    out = []
    for record in records_from(loan_table, fu_table):
        try:
            out.append(POLICY.evaluate(record.data, as_of=as_of).model_dump_json())
        except fp.SnapshotError as exc:
            out.append(f"reject: {exc}")
    return out


def _actual(loans_in: Any, fu_in: Any, as_of: date | None, **options: Any) -> list[str]:
    result = evaluate_portfolio(POLICY, loans_in, fu_in, as_of=as_of, **options)
    return [f"reject: {item.error}" if isinstance(item, Reject) else item.model_dump_json()
            for item in result.items()]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=st.lists(loans, min_size=1, max_size=12),
       history=st.lists(entries, max_size=15),
       as_of=st.one_of(st.none(), st.just(AS_OF)))
def test_typed_tables_agree_with_the_per_loan_path(rows: list[dict[str, Any]],
                                                   history: list[dict[str, Any]],
                                                   as_of: date | None) -> None:
    loan_table = pa.Table.from_pylist(rows, schema=SCHEMA)
    fu_table = pa.Table.from_pylist(history, schema=FU_SCHEMA)
    assert _actual(loan_table, fu_table, as_of) == _expected(loan_table, fu_table, as_of)
    # and the follow-up rows that reach no loan are the same ones on both paths
    typed = evaluate_portfolio(POLICY, loan_table, fu_table, as_of=as_of)
    records = evaluate_portfolio(POLICY, loan_table.to_pylist(), fu_table.to_pylist(),
                                 as_of=as_of)
    assert typed.unmatched_follow_ups == records.unmatched_follow_ups


def test_every_follow_up_row_reaches_a_loan_or_is_listed() -> None:
    book = [{"loan_id": "L1", "disbursement_date": date(2026, 1, 5), "t": "low"},
            {"loan_id": "L2", "disbursement_date": date(2026, 2, 5), "t": "high"}]
    history = [{"loan_id": "L1", "action": "n0", "date": date(2026, 2, 6),
                "channel": "phone", "outcome": "reached"},
               {"loan_id": "L7", "action": "n0", "date": date(2026, 2, 6)},
               {"loan_id": None, "action": "n0", "date": date(2026, 2, 7)},
               {"loan_id": "L2", "action": "r2", "date": date(2026, 3, 1)}]
    for loans_in, fu_in in ((book, history),
                            (pa.Table.from_pylist(book, schema=SCHEMA),
                             pa.Table.from_pylist(history, schema=FU_SCHEMA))):
        result = evaluate_portfolio(POLICY, loans_in, fu_in, as_of=AS_OF)
        assert [(r.index, r.loan_id, r.field) for r in result.unmatched_follow_ups] == [
            (1, "L7", "loan_id"), (2, None, "loan_id")]
        assert "'L7', which is not in the loans table" in result.unmatched_follow_ups[0].error
        assert result.decisions.num_rows == 2 and not result.rejects


def _clean(count: int) -> tuple[Any, Any]:
    rows = [{"loan_id": f"L{i}", "disbursement_date": date(2025, 1 + i % 12, 1 + i % 28),
             "i1": i % 101, "d1": Decimal(f"{i % 7}.25"), "d2": Decimal("1.50"),
             "b1": i % 2 == 0, "t": ["low", "medium", "high"][i % 3],
             "s": ["vip", "ok"][i % 2], "dt1": date(2026, 1 + i % 11, 28)}
            for i in range(count)]
    history = [{"loan_id": f"L{i}", "action": "n0", "date": date(2025, 3, 1 + i % 28),
                "channel": "phone", "outcome": ["reached", "no_answer"][i % 2]}
               for i in range(0, count, 2)]
    return (pa.Table.from_pylist(rows, schema=SCHEMA),
            pa.Table.from_pylist(history, schema=FU_SCHEMA))


def _reader_rows(loan_table: Any, fu_table: Any) -> tuple[int, int]:
    """How many rows the SQL check passed to the reader, and how many it rejected."""
    with duckdb_session() as con:
        source = typed_source(con, loan_table, fu_table, table_names=False)
        assert source is not None
        checked = check_typed(con, POLICY, source, AS_OF, None)
        assert checked is not None
        return checked.loans.num_rows + len(checked.fallback), len(checked.rejects)


def test_clean_typed_rows_skip_the_reader_and_bad_ones_take_it() -> None:
    loan_table, fu_table = _clean(40)
    assert _reader_rows(loan_table, fu_table) == (0, 0)
    rows = loan_table.to_pylist()
    rows[3]["t"] = "hgih"  # not a member: the reader's message
    rows[5]["s"] = " padded"  # may be blank to the reader: it decides (accepts)
    history = fu_table.to_pylist()
    history[1]["date"] = None  # loan L2's entry: the whole loan goes to the reader
    bad = pa.Table.from_pylist(rows, schema=SCHEMA)
    bad_fu = pa.Table.from_pylist(history, schema=FU_SCHEMA)
    assert _reader_rows(bad, bad_fu) == (1, 2)
    actual = _actual(bad, bad_fu, AS_OF)
    assert actual == _expected(bad, bad_fu, AS_OF)
    assert "field 't': must be one of low, medium, high; did you mean 'high'?" in actual[3]
    assert "follow_ups[0].date" in actual[2]


def test_every_table_form_gives_the_same_decisions(tmp_path: Path) -> None:
    pandas = pytest.importorskip("pandas")
    polars = pytest.importorskip("polars")
    loan_table, fu_table = _clean(30)
    expected = _expected(loan_table, fu_table, AS_OF)
    pq.write_table(loan_table, tmp_path / "loans.parquet")
    pq.write_table(fu_table, tmp_path / "follow_ups.parquet")
    assert _actual(tmp_path / "loans.parquet", str(tmp_path / "follow_ups.parquet"),
                   AS_OF) == expected
    assert _actual(polars.from_arrow(loan_table), polars.from_arrow(fu_table),
                   AS_OF) == expected
    frame = loan_table.to_pandas()
    assert isinstance(frame, pandas.DataFrame)
    # pandas turns dates into objects and decimals stay objects: still the same decisions
    assert _actual(frame, fu_table.to_pandas(), AS_OF) == expected
    con = duckdb.connect()
    con.register("loans_arrow", loan_table)
    con.register("fu_arrow", fu_table)
    con.execute("CREATE TABLE book AS SELECT * FROM loans_arrow")
    con.execute("CREATE SCHEMA crm")
    con.execute("CREATE TABLE crm.follow_ups AS SELECT * FROM fu_arrow")
    assert _actual("book", "crm.follow_ups", AS_OF, connection=con) == expected
    # the connection keeps its own tables; the run leaves nothing behind in it
    assert con.execute("SELECT count(*) FROM book").fetchall() == [(30,)]
    with pytest.raises(ValueError, match="no table or view named 'missing'"):
        evaluate_portfolio(POLICY, "missing", connection=con, as_of=AS_OF)


def test_a_float_column_is_read_by_the_reader() -> None:
    loan_table, fu_table = _clean(10)
    floats = loan_table.set_column(loan_table.schema.get_field_index("d1"), "d1",
                                   loan_table.column("d1").cast(pa.float64()))
    with duckdb_session() as con:
        source = typed_source(con, floats, fu_table, table_names=False)
        assert source is not None and check_typed(con, POLICY, source, AS_OF, None) is None
    assert _actual(floats, fu_table, AS_OF) == _expected(floats, fu_table, AS_OF)


def test_a_memory_limit_below_the_data_spills_and_still_completes(tmp_path: Path) -> None:
    """A portfolio larger than DuckDB's memory limit: the run spills to temp_directory
    (DuckDB lists its temporary files) and gives the unbounded run's tables."""
    loan_table, fu_table = _clean(4000)
    free = evaluate_portfolio(POLICY, loan_table, fu_table, as_of=AS_OF)
    with duckdb_session(memory_limit="16MB", temp_directory=tmp_path) as con:
        # one thread: with two, each holding its own buffers, 16 MB is sometimes too
        # little to run at all (DuckDB's own advice for out-of-memory errors)
        con.execute("SET threads = 1")
        source = typed_source(con, loan_table, fu_table, table_names=False)
        assert source is not None
        checked = check_typed(con, POLICY, source, AS_OF, None)
        assert checked is not None
        decisions, actions, findings = _run_statements(con, policy_sql(POLICY))
        spilled = con.execute("SELECT count(*) FROM duckdb_temporary_files()").fetchall()
    assert spilled[0][0] > 0
    assert decisions.num_rows == 4000
    assert actions.equals(free.actions)
    assert findings.equals(free.findings)
    limited = evaluate_portfolio(POLICY, loan_table, fu_table, as_of=AS_OF,
                                 memory_limit="64MB", temp_directory=tmp_path)
    assert limited.actions.equals(free.actions)
    with duckdb_session(memory_limit="64MB") as con:  # the parameter reaches DuckDB
        assert con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] \
            .startswith("61.0 MiB")
