"""Bank exports in every supported form give the same decisions as the JSONL they hold.

Every input file here is written by the test itself (GBK CSV with Chinese headers and
a column mapping, UTF-8 with BOM, .xlsx, Parquet) or built as a pandas/polars frame with
NaN/NaT/Timestamps; each is evaluated and compared, decision by decision, with the
evaluation of the same records as JSONL.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import followup_policy as fp
from followup_policy.cli import run

from .conftest import HEAD_OFFICE, PORTFOLIO

AS_OF = "2026-11-28"
# Chinese headers of a core-banking export, and the codes it uses for values.
HEADERS = {
    "loan_id": "贷款编号", "branch": "机构号", "disbursement_date": "放款日期",
    "loan_type": "贷款品种", "funding": "资金来源", "days_past_due": "逾期天数",
    "consecutive_missed_installments": "连续未还期数",
    "cumulative_missed_installments": "累计未还期数", "delinquency_start_date": "逾期开始日期",
    "homes_owned_at_application": "申请时本市住房套数", "declared_home_order": "认定套数",
    "down_payment_ratio": "首付比例", "monthly_income": "家庭月收入",
    "monthly_housing_payment": "月房贷还款额", "monthly_debt_payment": "月债务还款额",
    "income_verified_date": "收入核实日期", "income_interruption_date": "收入中断日期",
    "property_use": "房产用途", "property_use_verified_date": "用途核实日期",
    "credit_score": "行为评分", "insurance_expiry_date": "保险到期日",
    "mortgage_registration_date": "抵押登记日期", "credit_report_date": "征信查询日期",
    "credit_report_new_delinquencies": "征信新增逾期",
    "entrusted_payment_confirmed": "受托支付已确认", "default_event_date": "违约事件日期",
    "off_plan": "是否期房", "pre_registration_date": "预告登记日期", "handover_date": "交房日期",
    "property_certificate_date": "不动产权证日期", "borrower_status": "借款人状态",
    "borrower_status_date": "状态变更日期", "loan_status": "贷款状态", "payoff_date": "结清日期",
    "credit_funds_in_purchase": "信贷资金购房", "funds_review_date": "资金核查日期",
    "court_action": "涉诉情况", "court_action_date": "涉诉日期", "follow_ups": "回访记录",
}
DATE_FIELDS = tuple(name for name in HEADERS if name.endswith("_date"))
BOOL_FIELDS = ("entrusted_payment_confirmed", "off_plan", "credit_funds_in_purchase")
LOAN_TYPES = {"个人住房": "residential", "商业用房": "commercial"}
USES = {"自住": "self_occupied", "出租": "rented", "空置": "vacant", "经营": "business"}
CHANNELS = {"电话": "phone", "上门": "site_visit", "视频": "video_call", "短信": "sms",
            "智能外呼": "robot_call", "信函": "letter", "网点": "in_branch"}
OUTCOMES = {"已接通": "reached", "已完成": "completed", "已上门": "visited", "已送达": "delivered",
            "未接通": "no_answer", "拒接": "refused", "空号": "wrong_number",
            "无人应答": "unreachable", "退回": "returned"}
MAPPING_YAML = """\
date_formats: ["%Y/%m/%d", "%Y年%m月%d日"]
columns:
{columns}
  贷款品种: {{field: loan_type, values: {{个人住房: residential, 商业用房: commercial}}}}
  房产用途: {{field: property_use, values: {{自住: self_occupied, 出租: rented, 空置: vacant,
                                             经营: business}}}}
  受托支付已确认: {{field: entrusted_payment_confirmed, values: {{是: true, 否: false}}}}
  是否期房: {{field: off_plan, values: {{是: true, 否: false}}}}
  信贷资金购房: {{field: credit_funds_in_purchase, values: {{是: true, 否: false}}}}
follow_ups:
  channels: {channels}
  outcomes: {outcomes}
"""


def _flow(table: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in table.items()) + "}"


def _mapping_text() -> str:
    coded = {"loan_type", "property_use", *BOOL_FIELDS}
    columns = "\n".join(f"  {header}: {field}" for field, header in HEADERS.items()
                        if field not in coded)
    return MAPPING_YAML.format(columns=columns, channels=_flow(CHANNELS),
                               outcomes=_flow(OUTCOMES))


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    """80 loans of the example book: every status, missing values, history."""
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()[:80]
    return [json.loads(line, parse_float=Decimal) for line in lines]


@pytest.fixture(scope="module")
def policy() -> fp.Policy:
    return fp.load_policy(HEAD_OFFICE)


@pytest.fixture(scope="module")
def expected(records: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory,
             ) -> list[str]:
    """The decisions for the records as JSONL, through the command line."""
    source = tmp_path_factory.mktemp("jsonl") / "loans.jsonl"
    source.write_text("".join(json.dumps(r, default=str, ensure_ascii=False) + "\n"
                              for r in records), encoding="utf-8")
    code, out, err = _run("evaluate", "--policy", str(HEAD_OFFICE), "--as-of", AS_OF,
                          str(source))
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == len(records)
    assert any(json.loads(line)["actions"] for line in lines)
    return lines


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err, io.StringIO())
    return code, out.getvalue(), err.getvalue()


def _evaluate_file(path: Path, *extra: str) -> list[str]:
    code, out, err = _run("evaluate", "--policy", str(HEAD_OFFICE), "--as-of", AS_OF,
                          str(path), *extra)
    assert code == 0, err
    return out.splitlines()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _chinese_row(record: dict[str, Any]) -> dict[str, str]:
    """The record as the core-banking system would export it."""
    back_types = {v: k for k, v in LOAN_TYPES.items()}
    back_uses = {v: k for k, v in USES.items()}
    back_channels = {v: k for k, v in CHANNELS.items()}
    back_outcomes = {v: k for k, v in OUTCOMES.items()}
    row: dict[str, str] = {}
    for field, header in HEADERS.items():
        value = record.get(field)
        if value is None:
            row[header] = ""
        elif field == "disbursement_date":
            row[header] = date.fromisoformat(value).strftime("%Y/%m/%d")
        elif field in DATE_FIELDS:
            row[header] = date.fromisoformat(value).strftime("%Y年%m月%d日")
        elif field in BOOL_FIELDS:
            row[header] = "是" if value else "否"
        elif field == "loan_type":
            row[header] = back_types[value]
        elif field == "property_use":
            row[header] = back_uses[value]
        elif field == "follow_ups":
            row[header] = json.dumps([
                {"action": e["action"],
                 "date": date.fromisoformat(e["date"]).strftime("%Y/%m/%d"),
                 "channel": back_channels.get(e.get("channel"), e.get("channel")),
                 "outcome": back_outcomes.get(e.get("outcome"), e.get("outcome"))}
                for e in value], ensure_ascii=False)
        else:
            row[header] = _cell(value)
    return row


def test_gbk_csv_with_chinese_headers_and_mapping(records: list[dict[str, Any]],
                                                   expected: list[str], tmp_path: Path) -> None:
    source = tmp_path / "贷后台账.csv"
    with source.open("w", encoding="gbk", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(HEADERS.values()), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(_chinese_row(r) for r in records)
    assert "贷款编号".encode("gbk") in source.read_bytes()  # really GBK, not UTF-8
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(_mapping_text(), encoding="utf-8")
    assert _evaluate_file(source, "--mapping", str(mapping)) == expected
    # the same through the API
    policy = fp.load_policy(HEAD_OFFICE)
    rows = fp.read_snapshots(source, mapping=mapping, policy=policy)
    decisions = [d.model_dump_json() for d in policy.evaluate_many(rows, as_of=date(2026, 11, 28))]
    assert decisions == expected
    # and as pandas reads it: every empty cell is NaN
    frame = pd.read_csv(source, encoding="gbk", dtype=str)
    assert frame.isna().any().any()
    rows = fp.read_snapshots(frame, mapping=mapping, policy=policy)
    assert [d.model_dump_json() for d in policy.evaluate_many(rows, as_of=AS_OF)] == expected


def test_gbk_without_mapping_says_what_is_missing(records: list[dict[str, Any]],
                                                  tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    with source.open("w", encoding="gbk", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(HEADERS.values()))
        writer.writeheader()
        writer.writerow(_chinese_row(records[0]))
    code, _, err = _run("evaluate", "--policy", str(HEAD_OFFICE), "--as-of", AS_OF, str(source))
    assert code == 1
    reject = json.loads(err)
    assert "loan_id" in reject["error"] and "--mapping" in reject["error"]
    assert "贷款编号" in reject["error"]  # decoded as GB18030, not mojibake


def _english_rows(records: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    header = list(HEADERS)
    return header, [[_cell(r.get(f)) for f in header] for r in records]


def test_utf8_bom_csv(records: list[dict[str, Any]], expected: list[str], tmp_path: Path) -> None:
    header, rows = _english_rows(records)
    source = tmp_path / "loans.csv"
    with source.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    assert source.read_bytes().startswith(b"\xef\xbb\xbf")
    assert _evaluate_file(source) == expected


def test_encoding_override(records: list[dict[str, Any]], expected: list[str],
                           tmp_path: Path) -> None:
    header, rows = _english_rows(records)
    source = tmp_path / "loans.csv"
    with source.open("w", encoding="gb18030", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    assert _evaluate_file(source, "--encoding", "gbk") == expected


def _typed(record: dict[str, Any]) -> dict[str, Any]:
    """The record with real dates and numbers, as a database or Excel holds it."""
    out = dict(record)
    for field in DATE_FIELDS:
        if out.get(field) is not None:
            out[field] = date.fromisoformat(out[field])
    out["follow_ups"] = [dict(e, date=date.fromisoformat(e["date"]))
                         for e in record.get("follow_ups") or []]
    return out


def test_xlsx(records: list[dict[str, Any]], expected: list[str], tmp_path: Path) -> None:
    source = tmp_path / "loans.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    header = list(HEADERS)
    sheet.append(header)
    for record in records:
        typed = _typed(record)
        cells: list[Any] = []
        for field in header:
            value = typed.get(field)
            if isinstance(value, date):  # Excel has no date type: a datetime at midnight
                value = datetime(value.year, value.month, value.day)
            elif isinstance(value, Decimal):
                value = float(value)
            elif isinstance(value, list):
                value = json.dumps(value, default=str) if value else None
            cells.append(value)
        sheet.append(cells)
    sheet.append([None] * len(header))  # a formatted empty row at the end is not a record
    book.save(source)
    assert _evaluate_file(source) == expected


def test_parquet(records: list[dict[str, Any]], expected: list[str], tmp_path: Path) -> None:
    typed = [_typed(r) for r in records]
    ints = ("days_past_due", "consecutive_missed_installments",
            "cumulative_missed_installments", "homes_owned_at_application",
            "declared_home_order", "credit_score", "credit_report_new_delinquencies")
    floats = ("monthly_income", "monthly_housing_payment", "monthly_debt_payment")

    def column(name: str) -> Any:
        if name == "insurance_expiry_date":
            return pa.timestamp("us")  # a timestamp at midnight is a date
        if name in DATE_FIELDS:
            return pa.date32()
        if name in BOOL_FIELDS:
            return pa.bool_()
        if name == "down_payment_ratio":
            return pa.decimal128(9, 4)
        return pa.int64() if name in ints else pa.float64() if name in floats else pa.string()

    entry = pa.struct([("action", pa.string()), ("date", pa.date32()),
                       ("channel", pa.string()), ("outcome", pa.string())])
    schema = pa.schema([(name, pa.list_(entry) if name == "follow_ups" else column(name))
                        for name in HEADERS])
    rows = []
    for record in typed:
        row = {name: record.get(name) for name in schema.names}
        for name in ("monthly_income", "monthly_housing_payment", "monthly_debt_payment"):
            row[name] = None if row[name] is None else float(row[name])
        expiry = row["insurance_expiry_date"]
        row["insurance_expiry_date"] = None if expiry is None else datetime(
            expiry.year, expiry.month, expiry.day)
        row["follow_ups"] = [{"channel": None, "outcome": None, **e}
                             for e in row["follow_ups"] or []]
        rows.append(row)
    source = tmp_path / "loans.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), source)
    assert _evaluate_file(source) == expected


def _pandas_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame([{k: v for k, v in _typed(r).items() if k != "follow_ups"}
                          for r in records])
    for field in DATE_FIELDS:  # datetime64: missing dates become NaT
        if field in frame:
            frame[field] = pd.to_datetime(frame[field])
    for field in ("monthly_income", "homes_owned_at_application", "credit_score"):
        frame[field] = pd.to_numeric(frame[field], errors="coerce")  # NaN where missing
    frame["follow_ups"] = [[dict(e, date=pd.Timestamp(e["date"])) for e in _typed(r)["follow_ups"]]
                           for r in records]
    return frame


def test_pandas_frame_with_nan_nat_and_timestamps(records: list[dict[str, Any]],
                                                  expected: list[str]) -> None:
    frame = _pandas_frame(records)
    assert frame["delinquency_start_date"].isna().any()  # NaT present
    assert frame["monthly_income"].isna().any()  # NaN present
    assert isinstance(frame["disbursement_date"].iloc[0], pd.Timestamp)
    policy = fp.load_policy(HEAD_OFFICE)
    got = [d.model_dump_json() for d in policy.evaluate_many(frame, as_of=date(2026, 11, 28))]
    assert got == expected
    # and one row at a time, as pandas users write it
    rows = frame.to_dict("records")
    assert policy.evaluate(rows[0], as_of=date(2026, 11, 28)).model_dump_json() == expected[0]


def test_polars_frame(records: list[dict[str, Any]], expected: list[str]) -> None:
    frame = pl.from_pandas(_pandas_frame(records).drop(columns=["follow_ups"]))
    frame = frame.with_columns(pl.Series("follow_ups", [
        [dict(e, date=e["date"]) for e in _typed(r)["follow_ups"]] or None for r in records],
        dtype=pl.List(pl.Struct({"action": pl.String, "date": pl.Date, "channel": pl.String,
                                 "outcome": pl.String}))))
    assert frame["monthly_income"].null_count() > 0
    policy = fp.load_policy(HEAD_OFFICE)
    got = [d.model_dump_json() for d in policy.evaluate_many(frame, as_of=date(2026, 11, 28))]
    assert got == expected


def test_frame_with_mapping_through_the_api(records: list[dict[str, Any]],
                                            expected: list[str]) -> None:
    frame = pd.DataFrame([_chinese_row(r) for r in records])
    policy = fp.load_policy(HEAD_OFFICE)
    mapping = fp.ColumnMapping.from_dict(__import__("yaml").safe_load(_mapping_text()))
    rows = fp.read_snapshots(frame, mapping=mapping, policy=policy)
    got = [d.model_dump_json() for d in policy.evaluate_many(rows, as_of=date(2026, 11, 28))]
    assert got == expected


def test_timestamp_with_a_time_of_day_is_an_error_naming_the_field() -> None:
    policy = fp.load_policy(HEAD_OFFICE)
    when = pd.to_datetime(["2026-01-05", "2026-01-05 14:30"], format="ISO8601")
    frame = pd.DataFrame({"loan_id": ["A", "B"], "loan_type": ["residential"] * 2,
                          "disbursement_date": when})
    first, second = policy.evaluate_many(frame, as_of=date(2026, 6, 1))
    assert isinstance(first, fp.Decision)
    assert isinstance(second, fp.RecordError)
    assert second.field == "disbursement_date" and "date and time" in second.message


def _one_line_exit_2(*argv: str) -> str:
    code, out, err = _run(*argv)
    assert code == 2, err
    assert out == ""
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize(("name", "content", "needle"), [
    ("broken.xlsx", b"PK\x03\x04 not really a zip", "not an Excel .xlsx workbook"),
    ("broken.parquet", b"PAR1 garbage", "not a Parquet file"),
    ("missing.csv", None, "cannot read"),
    ("latin.csv", "loan_id,名字\n1,é\n".encode("utf-16-le"), "decode"),
])
def test_unreadable_files_exit_2_with_one_line(tmp_path: Path, name: str,
                                               content: bytes | None, needle: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    extra = ("--encoding", "ascii") if name == "latin.csv" else ()
    err = _one_line_exit_2("evaluate", "--engine", "per-loan", "--policy", str(HEAD_OFFICE),
                           str(path), *extra)
    assert needle in err


def test_missing_mapped_column_and_unknown_encoding_exit_2(tmp_path: Path) -> None:
    source = tmp_path / "x.csv"
    source.write_text("贷款编码,放款日期\nA,2026/01/01\n", encoding="gbk")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns: {贷款编号: loan_id, 放款日期: disbursement_date}\n",
                       encoding="utf-8")
    err = _one_line_exit_2("tasks", "--policy", str(HEAD_OFFICE), str(source),
                           "--mapping", str(mapping))
    assert "'贷款编号'" in err and "did you mean '贷款编码'" in err
    err = _one_line_exit_2("evaluate", "--policy", str(HEAD_OFFICE), str(source),
                           "--encoding", "klingon")
    assert "unknown encoding 'klingon'" in err


def test_missing_extra_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "x.xlsx"
    book = openpyxl.Workbook()
    book.save(source)
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # as if not installed
    err = _one_line_exit_2("evaluate", "--policy", str(HEAD_OFFICE), str(source))
    assert "pip install 'followup-policy[excel]'" in err


def test_no_traceback_from_the_installed_command(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"\x00\x01 definitely not a workbook")
    done = subprocess.run([sys.executable, "-m", "followup_policy", "evaluate", "--policy",
                           str(HEAD_OFFICE), str(path)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
