"""A hand-written, plain-Python evaluator of ``policies/head_office.yaml``.

This is the yardstick the benchmarks measure the library against: the head-office
policy's semantics written out directly as ``if`` statements, date arithmetic and
dicts, with no policy engine, no compiled conditions and no pydantic. It produces
the same output as ``Decision.model_dump(mode="json")`` (timing nodes with
anchor/after/window/lead, the risk tiers, frequency by tier, the rules with their
stable anchors/cooldown/repeat, SPEC 5.1 completion (only a completing outcome through
a strong enough channel completes; failed attempts are counted), checklists filtered per
loan, Kleene logic and ``data_missing`` findings for missing data, the same reasons), and
``run.py`` checks that it does before it times anything.

Only the *text* (titles, checklist items, condition text, references) is read from
the policy file, once, with ``yaml.safe_load``; every condition, duration, tier and
date rule is hand-written here. If the policy's logic changes, this file must change
too, and the agreement check in ``run.py`` says so.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, ClassVar

import yaml

__all__ = ["BadSnapshot", "Baseline", "coerce"]

Values = dict[str, Any]
Finding = dict[str, Any]

# -- calendar arithmetic ----------------------------------------------------------------------


def add_months(start: date, months: int) -> date:
    index = start.year * 12 + start.month - 1 + months
    year, month0 = divmod(index, 12)
    day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day)


def add(start: date, amount: int, unit: str) -> date:
    if unit == "days":
        return start + timedelta(days=amount)
    if unit == "months":
        return add_months(start, amount)
    return add_months(start, 12 * amount)  # years


def show_duration(amount: int, unit: str) -> str:
    return f"{amount} {unit if amount != 1 else unit[:-1]}"


def status_on(on: date, due: date, deadline: date, lead_days: int) -> str | None:
    if on > deadline:
        return "overdue"
    if on >= due:
        return "due"
    if lead_days and on >= due - timedelta(days=lead_days):
        return "upcoming"
    return None


def show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# -- parameters (effective-dated) -------------------------------------------------------------

HIGH_RISK_SCORE = Decimal("550")
HOUSING_DTI_MAX = Decimal("0.50")
TOTAL_DTI_MAX = Decimal("0.55")
FIRST_HOME_MIN_DP = ((date(2023, 8, 31), Decimal("0.20")), (date(2024, 5, 17), Decimal("0.15")),
                     (date(2024, 10, 1), Decimal("0.15")))
SECOND_HOME_MIN_DP = ((date(2023, 8, 31), Decimal("0.30")), (date(2024, 5, 17), Decimal("0.25")),
                      (date(2024, 10, 1), Decimal("0.15")))
RULES_FROM = date(2023, 8, 31)


def param_at(table: tuple[tuple[date, Decimal], ...], on: date) -> Decimal | None:
    value = None
    for start, candidate in table:
        if start > on:
            break
        value = candidate
    return value


def ratio(numerator: Any, denominator: Any) -> Decimal | None:
    """``numerator / denominator`` as the policy language divides: unknown on null or 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    result: Decimal = Decimal(numerator) / denominator
    return result


# -- snapshot coercion (the raw-input variant) -----------------------------------------------


class BadSnapshot(ValueError):
    """A snapshot that does not fit the head-office fields."""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def to_date(name: str, value: Any) -> date:
    if isinstance(value, datetime):
        raise BadSnapshot(f"{name}: expected a date, not a date and time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise BadSnapshot(f"{name}: expected a date as YYYY-MM-DD (got {value!r})")


def to_decimal(name: str, value: Any, low: int | None, high: int | None) -> Decimal:
    if isinstance(value, bool):
        raise BadSnapshot(f"{name}: expected a number (got {value!r})")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise BadSnapshot(f"{name}: expected a number (got {value!r})") from None
    else:
        raise BadSnapshot(f"{name}: expected a number (got {value!r})")
    if not number.is_finite():
        raise BadSnapshot(f"{name}: expected a finite number")
    if (low is not None and number < low) or (high is not None and number > high):
        raise BadSnapshot(f"{name}: out of range (got {value!r})")
    return number


def to_int(name: str, value: Any, low: int | None, high: int | None = None) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        exact = to_decimal(name, value, None, None)
        if exact != exact.to_integral_value():
            raise BadSnapshot(f"{name}: expected a whole number (got {value!r})")
        number = int(exact)
    if (low is not None and number < low) or (high is not None and number > high):
        raise BadSnapshot(f"{name}: out of range (got {value!r})")
    return number


def to_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise BadSnapshot(f"{name}: expected true or false (got {value!r})")


def to_enum(name: str, value: Any, allowed: frozenset[str]) -> str:
    text = value if isinstance(value, str) else str(value)
    if text not in allowed:
        raise BadSnapshot(f"{name}: must be one of {', '.join(sorted(allowed))} (got {value!r})")
    return text


LOAN_TYPES = frozenset({"residential", "commercial"})
FUNDING = frozenset({"commercial", "provident_fund", "combined"})
LOAN_STATUSES = frozenset({"active", "paid_off"})
PROPERTY_USES = frozenset({"self_occupied", "rented", "vacant", "business"})
COURT_ACTIONS = frozenset({"none", "litigation", "seizure", "enforcement"})
BORROWER_STATUSES = frozenset({"normal", "deceased", "incapacitated", "missing"})
DATES = ("payoff_date", "delinquency_start_date", "default_event_date", "income_verified_date",
         "income_interruption_date", "credit_report_date", "funds_review_date",
         "pre_registration_date", "handover_date", "property_certificate_date",
         "mortgage_registration_date", "property_use_verified_date", "insurance_expiry_date",
         "court_action_date", "borrower_status_date")


def coerce(raw: dict[str, Any]) -> Values:
    """Check and convert one raw JSON-like snapshot into plain values.

    ``follow_ups`` becomes a list of ``(action, date, channel, outcome)`` tuples.
    """
    get = raw.get
    loan_id = get("loan_id")
    if _blank(loan_id) or isinstance(loan_id, bool) or not isinstance(loan_id, str | int):
        raise BadSnapshot("loan_id is missing or not text")
    values: Values = {"loan_id": str(loan_id)}
    disbursed = get("disbursement_date")
    if _blank(disbursed):
        raise BadSnapshot("disbursement_date is missing")
    values["disbursement_date"] = to_date("disbursement_date", disbursed)
    loan_type = get("loan_type")
    if _blank(loan_type):
        raise BadSnapshot("loan_type is missing")
    values["loan_type"] = to_enum("loan_type", loan_type, LOAN_TYPES)
    for name, allowed, default in (("funding", FUNDING, "commercial"),
                                   ("loan_status", LOAN_STATUSES, "active"),
                                   ("court_action", COURT_ACTIONS, "none"),
                                   ("borrower_status", BORROWER_STATUSES, "normal")):
        value = get(name)
        values[name] = default if _blank(value) else to_enum(name, value, allowed)
    use = get("property_use")
    values["property_use"] = None if _blank(use) else to_enum("property_use", use, PROPERTY_USES)
    for name in ("days_past_due", "consecutive_missed_installments",
                 "cumulative_missed_installments"):
        value = get(name)
        values[name] = 0 if _blank(value) else to_int(name, value, 0)
    for name, low, high in (("homes_owned_at_application", 0, None),
                            ("declared_home_order", 1, None), ("credit_score", 0, 1000),
                            ("credit_report_new_delinquencies", 0, None)):
        value = get(name)
        values[name] = None if _blank(value) else to_int(name, value, low, high)
    for name, low, high in (("down_payment_ratio", 0, 1), ("monthly_income", 0, None),
                            ("monthly_housing_payment", 0, None),
                            ("monthly_debt_payment", 0, None)):
        value = get(name)
        values[name] = None if _blank(value) else to_decimal(name, value, low, high)
    for name in DATES:
        value = get(name)
        values[name] = None if _blank(value) else to_date(name, value)
    value = get("entrusted_payment_confirmed")
    values["entrusted_payment_confirmed"] = (None if _blank(value)
                                             else to_bool("entrusted_payment_confirmed", value))
    for name in ("credit_funds_in_purchase", "off_plan"):
        value = get(name)
        values[name] = False if _blank(value) else to_bool(name, value)
    history = get("follow_ups") or ()
    if not isinstance(history, list | tuple):
        raise BadSnapshot("follow_ups: expected a list")
    entries = []
    for entry in history:
        action = entry.get("action")
        if _blank(action) or not isinstance(action, str):
            raise BadSnapshot("follow_ups: entry without an action id")
        channel = entry.get("channel")
        outcome = entry.get("outcome")
        entries.append((action, to_date("follow_ups.date", entry.get("date")),
                        None if _blank(channel) else str(channel).strip(),
                        None if _blank(outcome) else str(outcome).strip()))
    values["follow_ups"] = entries
    return values


# -- what completes an action (SPEC 5.1), hand-written for the built-in channels ---------------

OUTCOMES = {"reached": True, "completed": True, "visited": True, "delivered": True,
            "unreachable": False, "no_answer": False, "refused": False, "wrong_number": False,
            "returned": False}
CHANNELS = frozenset({"site_visit", "in_branch", "video_call", "phone", "robot_call", "sms",
                      "letter", "email", "app_message", "wechat"})
# the entry channels that complete an action required through each channel
ACCEPTS = {
    "site_visit": frozenset({"site_visit"}),
    "in_branch": frozenset({"in_branch"}),
    "phone": frozenset({"site_visit", "in_branch", "phone"}),
    "robot_call": frozenset({"site_visit", "in_branch", "video_call", "phone", "robot_call"}),
    "sms": frozenset({"site_visit", "in_branch", "video_call", "phone", "robot_call", "sms"}),
    "letter": frozenset({"letter"}),
}
Entry = tuple[str, date, Any, Any]  # action, date, channel, outcome


def verdict(entry: Entry, accepted: frozenset[str]) -> str:
    _, _, channel, outcome = entry
    if outcome is None:
        return "missing_outcome"
    if channel is None:
        return "missing_channel"
    completes = OUTCOMES.get(outcome)
    if completes is None:
        return "unknown_outcome"
    if not completes:
        return "failed"
    if channel in accepted:
        return "completes"
    return "channel_too_weak" if channel in CHANNELS else "unknown_channel"


def entry_findings(owner: str, judged: list[tuple[Entry, str]], findings: dict[Any, Finding]
                   ) -> None:
    for entry, said in judged:
        if said == "missing_outcome" or said == "missing_channel":
            what = "outcome" if said == "missing_outcome" else "channel"
            message = (f"follow-up '{entry[0]}' on {entry[1].isoformat()} has no {what}, so it"
                       " completes nothing")
            add_finding(findings, owner, "data_missing", [f"follow_ups.{what}"], message)
        elif said == "unknown_outcome" or said == "unknown_channel":
            what = "outcome" if said == "unknown_outcome" else "channel"
            value = entry[3] if what == "outcome" else entry[2]
            message = (f"follow-up '{entry[0]}' on {entry[1].isoformat()} has {what} '{value}',"
                       " which the policy does not know, so it completes nothing")
            add_finding(findings, owner, said, [f"follow_ups.{what}"], message)


def add_finding(findings: dict[Any, Finding], owner: str, kind: str, fields: list[str],
                message: str) -> None:
    key = (owner, kind, tuple(fields), message)
    if key not in findings:  # a shared checklist reports once
        findings[key] = {"rule": owner, "kind": kind, "fields": fields, "message": message}


def not_done_reason(action_id: str, since: date, judged: list[tuple[Entry, str]]) -> str:
    if not judged:
        return f"no follow-up '{action_id}' recorded since {since.isoformat()}"
    failed = sum(1 for _, said in judged if said == "failed")
    other = len(judged) - failed
    parts = []
    if failed:
        parts.append(f"{failed} failed attempt{'s' if failed != 1 else ''}")
    if other:
        parts.append(f"{other} entr{'ies' if other != 1 else 'y'} that did not complete it"
                     " (channel too weak or data missing)")
    return f"not completed since {since.isoformat()}: " + " and ".join(parts)


# -- three-valued logic ------------------------------------------------------------------------


def all3(*parts: bool | None) -> bool | None:
    """Kleene ``and``."""
    if False in parts:
        return False
    return None if None in parts else True


def any3(*parts: bool | None) -> bool | None:
    """Kleene ``or``."""
    if True in parts:
        return True
    return None if None in parts else False


# -- the evaluator ----------------------------------------------------------------------------

DAY = timedelta(days=1)


class Baseline:
    """The head-office policy, hand-written. ``evaluate`` takes coerced values."""

    def __init__(self, policy_file: Path, digest: str) -> None:
        doc = yaml.safe_load(policy_file.read_text(encoding="utf-8"))
        self.policy_id: str = doc["policy"]["id"]
        self.version = str(doc["policy"]["version"])
        self.digest = digest
        lists = doc["checklists"]
        self.items = {name: [{"id": item["id"], "text": item["text"]} for item in spec["items"]]
                      for name, spec in lists.items()}
        self.item_when = {(name, item["id"]): item["when"] for name, spec in lists.items()
                          for item in spec["items"] if "when" in item}
        self.nodes = {node["id"]: node for node in doc["timing_nodes"]}
        self.rules = {rule["id"]: rule for rule in doc["rules"]}
        self.tier_text = {tier["tier"]: tier.get("when") for tier in doc["risk_tiers"]}
        self.settled_title = doc["frequency"]["结清"]["title"]

    # -- checklists ---------------------------------------------------------------------------

    def _checklist(self, name: str, v: Values, findings: dict[Any, Finding]
                   ) -> list[dict[str, str]]:
        items = self.items[name]
        if name == "first_call":
            return [item for item in items
                    if not (item["id"] == "off_plan_registration" and not v["off_plan"])
                    and not (item["id"] == "fund_part" and v["funding"] == "commercial")]
        if name == "standard_call":
            # property_use: loan_type == "commercial" or property_use != "self_occupied"
            if v["loan_type"] == "commercial":
                return items
            use = v["property_use"]
            if use is None:  # unknown: keep the item, record the missing data
                text = self.item_when[("standard_call", "property_use")]
                add_finding(findings, "standard_call.property_use", "data_missing",
                            ["property_use"], f"'{text}' could not be decided: missing"
                            " property_use")
                return items
            if use != "self_occupied":
                return items
            return [item for item in items if item["id"] != "property_use"]
        if name == "annual_visit" and v["insurance_expiry_date"] is None:
            return [item for item in items if item["id"] != "insurance"]
        if name == "collection_call" and v["funding"] == "commercial":
            return [item for item in items if item["id"] != "fund_center"]
        return items

    # -- tiers --------------------------------------------------------------------------------

    def _tier(self, v: Values, findings: dict[Any, Finding]) -> str:
        if v["loan_status"] == "paid_off":
            return "结清"
        dpd = v["days_past_due"]
        if dpd > 360:
            return "损失"
        if dpd > 270:
            return "可疑"
        if dpd > 90:
            return "次级"
        score = v["credit_score"]
        news = v["credit_report_new_delinquencies"]
        burden = ratio(v["monthly_housing_payment"], v["monthly_income"])
        watch = any3(dpd > 0, None if score is None else score < HIGH_RISK_SCORE,
                     None if burden is None else burden > HOUSING_DTI_MAX,
                     v["court_action"] != "none", None if news is None else news > 0,
                     v["borrower_status"] != "normal")
        if watch:
            return "关注"
        if watch is None:
            missing = [name for name in ("credit_report_new_delinquencies", "credit_score",
                                         "monthly_housing_payment", "monthly_income")
                       if v[name] is None]
            self._unknown(findings, "risk_tiers.关注", self.tier_text["关注"], missing)
        return "正常"

    @staticmethod
    def _unknown(findings: dict[Any, Finding], owner: str, text: str,
                 missing: list[str]) -> None:
        why = (f"missing {', '.join(missing)}" if missing
               else "no field is missing; a value made it undefined (e.g. a division by zero)")
        add_finding(findings, owner, "data_missing", missing,
                    f"'{text}' could not be decided: {why}")

    # -- timing nodes and frequency -----------------------------------------------------------

    def _node(self, node_id: str, after: tuple[int, str], window: int, lead: int,
              accepted: frozenset[str], v: Values, on: date, history: dict[str, list[Entry]],
              findings: dict[Any, Finding]) -> dict[str, Any] | None:
        anchor = v["disbursement_date"]
        judged = [(e, verdict(e, accepted)) for e in history.get(node_id, ()) if e[1] >= anchor]
        if any(said == "completes" for _, said in judged):
            return None
        entry_findings(node_id, judged, findings)
        attempts = [e[1] for e, said in judged if said == "failed"]
        due = add(anchor, *after)
        deadline = due + timedelta(days=window)
        status = status_on(on, due, deadline, lead)
        if status is None:
            return None
        node = self.nodes[node_id]
        reasons = [f"applies because {node['when']}",
                   f"due {show_duration(*after)} after disbursement_date {anchor.isoformat()}"
                   f" (deadline {deadline.isoformat()}, window {show_duration(window, 'days')})",
                   not_done_reason(node_id, anchor, judged)]
        return self._action("timing_node", node_id, "follow_up", node["title"], status, due,
                            deadline, node["channel"], node.get("severity", "medium"), None,
                            None, node["checklist"], v, findings, reasons, attempts)

    # tier: (every, window, lead, channel, checklist, severity)
    _FREQUENCY: ClassVar[dict[str, tuple[tuple[int, str], int, int, str, str | None, str]]] = {
        "损失": ((1, "months"), 7, 0, "site_visit", "collection_call", "critical"),
        "可疑": ((1, "months"), 7, 0, "site_visit", "collection_call", "high"),
        "次级": ((1, "months"), 7, 0, "phone", "collection_call", "high"),
        "关注": ((3, "months"), 15, 7, "phone", "standard_call", "medium"),
        "正常": ((12, "months"), 30, 14, "robot_call", "standard_call", "low"),
        "结清": ((99, "years"), 0, 0, "letter", None, "low"),
    }

    def _frequency(self, tier: str, v: Values, on: date, kept: list[Entry],
                   history: dict[str, list[Entry]], findings: dict[Any, Finding]
                   ) -> dict[str, Any] | None:
        every, window, lead, channel, checklist, severity = self._FREQUENCY[tier]
        accepted = ACCEPTS[channel]
        disbursed = v["disbursement_date"]
        # the latest completing entry of any action; one from before disbursement (a previous
        # loan's history) does not reset the clock
        latest = None
        for entry in kept:
            if entry[1] > disbursed and verdict(entry, accepted) == "completes":
                latest = entry
        base = latest[1] if latest is not None else disbursed
        current = [(e, verdict(e, accepted)) for e in history.get("frequency", ())
                   if e[1] >= disbursed and (latest is None or e[1] > base)]
        entry_findings("frequency", current, findings)
        due = add(base, *every)
        deadline = due + timedelta(days=window)
        status = status_on(on, due, deadline, lead)
        if status is None:
            return None
        since = (f"latest completed follow-up {base.isoformat()} ('{latest[0]}')"
                 if latest is not None else f"disbursement {base.isoformat()}")
        reasons = [f"tier {tier}: follow up every {show_duration(*every)}, counted from {since}"]
        title = self.settled_title if tier == "结清" else f"定期回访（{tier}）"
        attempts = [e[1] for e, said in current if said == "failed"]
        return self._action("frequency", "frequency", "periodic_follow_up", title, status, due,
                            deadline, channel, severity, None, None, checklist, v, findings,
                            reasons, attempts)

    def _action(self, source: str, item_id: str, kind: str, title: str, status: str, due: date,
                deadline: date, channel: str | None, severity: str, category: str | None,
                reference: str | None, checklist: str | None, v: Values,
                findings: dict[Any, Finding], reasons: list[str],
                attempts: list[date]) -> dict[str, Any]:
        return {
            "id": item_id, "source": source, "kind": kind, "title": title, "status": status,
            "due_date": due, "deadline": deadline, "channel": channel, "severity": severity,
            "category": category, "reference": reference, "checklist_id": checklist,
            "checklist": self._checklist(checklist, v, findings) if checklist else [],
            "reasons": reasons, "attempts": len(attempts),
            "last_attempt": attempts[-1] if attempts else None,
        }

    # -- rules ---------------------------------------------------------------------------------

    def _rule(self, rule_id: str, holds: bool | None, missing: list[str], shown: tuple[str, ...],
              anchor: str, after: tuple[int, str], window: int, v: Values, on: date,
              history: dict[str, list[Entry]], findings: dict[Any, Finding],
              repeat: tuple[int, str] | None = None, cooldown_days: int = 0
              ) -> dict[str, Any] | None:
        rule = self.rules[rule_id]
        if holds is None:
            self._unknown(findings, rule_id, rule["when"], missing)
            return None
        if not holds:
            return None
        anchor_date = v[anchor]
        if anchor_date is None:
            add_finding(findings, rule_id, "data_missing", [anchor],
                        f"anchor date '{anchor}' is missing, so no due date can be set")
            return None
        action = rule["action"]
        accepted = ACCEPTS[action["channel"]]
        entries = history.get(rule_id, ())
        if cooldown_days:
            last_done = None
            for entry in entries:
                if verdict(entry, accepted) == "completes":
                    last_done = entry[1]
            if last_done is not None and on < last_done + timedelta(days=cooldown_days):
                return None
        judged = [(e, verdict(e, accepted)) for e in entries if e[1] >= anchor_date]
        done = None
        for entry, said in judged:
            if said == "completes":
                done = entry[1]
        seen = ", ".join(f"{name}={show(on if name == 'as_of' else v[name])}" for name in shown)
        reasons = [f"{rule['when']} holds ({seen})"]
        status: str | None
        if done is not None:
            if repeat is None:
                return None
            due = add(done, *repeat)
            deadline = due + timedelta(days=window)
            status = status_on(on, due, deadline, 0)
            reasons.append(f"last done {done.isoformat()}; repeats every {show_duration(*repeat)}")
            judged = [(e, said) for e, said in judged if e[1] > done]
        else:
            due = add(anchor_date, *after)
            deadline = due + timedelta(days=window)
            status = "overdue" if on > deadline else "due" if on >= due else "upcoming"
            reasons.append(f"due {show_duration(*after)} after {anchor} {anchor_date.isoformat()}"
                           f" (deadline {deadline.isoformat()})")
        entry_findings(rule_id, judged, findings)
        if status is None:
            return None
        attempts = [e[1] for e, said in judged if said == "failed"]
        return self._action("rule", rule_id, action["kind"], rule.get("title") or rule_id,
                            status, due, deadline, action.get("channel"), rule["severity"],
                            rule["category"], rule.get("reference"), action.get("checklist"), v,
                            findings, reasons, attempts)

    # -- the whole policy ----------------------------------------------------------------------

    def evaluate(self, v: Values, on: date) -> dict[str, Any]:
        """The decision for one loan, from coerced values (see :func:`coerce`)."""
        kept = sorted((e for e in v["follow_ups"] if e[1] <= on), key=lambda e: e[1])
        history: dict[str, list[Entry]] = {}
        for entry in kept:
            history.setdefault(entry[0], []).append(entry)
        findings: dict[Any, Finding] = {}
        actions: list[dict[str, Any]] = []
        append = actions.append
        tier = self._tier(v, findings)

        active = v["loan_status"] == "active"
        if active:
            phone = ACCEPTS["phone"]
            for node_id, after, window, lead in (("d30", (30, "days"), 10, 7),
                                                 ("m3", (3, "months"), 15, 7),
                                                 ("m6", (6, "months"), 15, 7)):
                action = self._node(node_id, after, window, lead, phone, v, on, history,
                                    findings)
                if action is not None:
                    append(action)
            site = ACCEPTS["site_visit"]
            if v["loan_type"] == "commercial":
                action = self._node("m6_site", (6, "months"), 30, 14, site, v, on, history,
                                    findings)
                if action is not None:
                    append(action)
            action = self._node("y1", (1, "years"), 30, 14, site, v, on, history, findings)
            if action is not None:
                append(action)

        action = self._frequency(tier, v, on, kept, history, findings)
        if action is not None:
            append(action)

        for action in self._rules(v, on, active, history, findings):
            if action is not None:
                append(action)
        actions.sort(key=lambda a: (a["deadline"], a["id"]))
        return {"loan_id": v["loan_id"], "as_of": on, "tier": tier, "policy_id": self.policy_id,
                "policy_version": self.version, "policy_digest": self.digest,
                "actions": actions, "findings": list(findings.values())}

    def _rules(self, v: Values, on: date, active: bool, history: dict[str, list[Entry]],
               findings: dict[Any, Finding]) -> list[dict[str, Any] | None]:
        rule = self._rule
        out: list[dict[str, Any] | None] = []
        disbursed = v["disbursement_date"]
        homes = v["homes_owned_at_application"]
        order = v["declared_home_order"]
        dp = v["down_payment_ratio"]
        dpd = v["days_past_due"]
        on_loan = ("loan_status",)

        # loan_status == "active" and entrusted_payment_confirmed == false
        confirmed = v["entrusted_payment_confirmed"]
        out.append(rule("entrusted_payment_unconfirmed",
                        all3(active, None if confirmed is None else confirmed is False),
                        ["entrusted_payment_confirmed"],
                        ("entrusted_payment_confirmed", "loan_status"), "disbursement_date",
                        (5, "days"), 0, v, on, history, findings))
        # credit_funds_in_purchase
        out.append(rule("credit_funds_into_purchase", v["credit_funds_in_purchase"], [],
                        ("credit_funds_in_purchase",), "funds_review_date", (10, "days"), 0, v,
                        on, history, findings))

        # homes_owned_at_application >= 1 and declared_home_order == 1
        owned = None if homes is None else homes >= 1
        first = None if order is None else order == 1
        holds = all3(owned, first)
        missing = [n for n, x in (("declared_home_order", first),
                                  ("homes_owned_at_application", owned)) if x is None]
        out.append(rule("second_home_misclassified", holds, missing,
                        ("declared_home_order", "homes_owned_at_application"),
                        "disbursement_date", (30, "days"), 0, v, on, history, findings))

        # funding != "provident_fund" and disbursement_date >= 2023-08-31 and order == 1
        #   and homes == 0 and down_payment_ratio < the first-home floor on disbursement
        dp_fields = ("declared_home_order", "disbursement_date", "down_payment_ratio",
                     "funding", "homes_owned_at_application")
        commercial_funds = v["funding"] != "provident_fund" and disbursed >= RULES_FROM
        floor = param_at(FIRST_HOME_MIN_DP, disbursed)
        none_owned = None if homes is None else homes == 0
        below = None if dp is None or floor is None else dp < floor
        holds = all3(commercial_funds, first, none_owned, below)
        missing = [n for n, x in (("declared_home_order", first), ("down_payment_ratio", below),
                                  ("homes_owned_at_application", none_owned)) if x is None]
        out.append(rule("first_home_down_payment_check", holds, missing, dp_fields,
                        "disbursement_date", (30, "days"), 0, v, on, history, findings))

        # ... and (order >= 2 or homes >= 1) and down_payment_ratio < the second-home floor
        second = None if order is None else order >= 2
        floor = param_at(SECOND_HOME_MIN_DP, disbursed)
        below = None if dp is None or floor is None else dp < floor
        either = any3(second, owned)
        holds = all3(commercial_funds, either, below)
        missing = []
        if either is None:
            missing += [n for n, x in (("declared_home_order", second),
                                       ("homes_owned_at_application", owned)) if x is None]
        if below is None:
            missing.append("down_payment_ratio")
        out.append(rule("second_home_down_payment_check", holds, sorted(missing), dp_fields,
                        "disbursement_date", (30, "days"), 0, v, on, history, findings))

        off_plan = v["off_plan"]
        certificate = v["property_certificate_date"]
        out.append(rule("pre_registration_missing",
                        active and off_plan and v["pre_registration_date"] is None, [],
                        ("loan_status", "off_plan", "pre_registration_date"), "disbursement_date",
                        (30, "days"), 0, v, on, history, findings))
        out.append(rule("property_certificate_pending",
                        active and off_plan and v["handover_date"] is not None
                        and certificate is None, [],
                        ("handover_date", "loan_status", "off_plan", "property_certificate_date"),
                        "handover_date", (1, "years"), 30, v, on, history, findings))
        out.append(rule("mortgage_registration_pending",
                        active and certificate is not None
                        and v["mortgage_registration_date"] is None, [],
                        ("loan_status", "mortgage_registration_date", "property_certificate_date"),
                        "property_certificate_date", (30, "days"), 0, v, on, history, findings))

        out.append(rule("court_action_review", v["court_action"] != "none", [],
                        ("court_action",), "court_action_date", (3, "days"), 0, v, on, history,
                        findings))
        news = v["credit_report_new_delinquencies"]
        out.append(rule("credit_report_deterioration", None if news is None else news > 0,
                        ["credit_report_new_delinquencies"], ("credit_report_new_delinquencies",),
                        "credit_report_date", (15, "days"), 0, v, on, history, findings))
        out.append(rule("income_interruption", active and v["income_interruption_date"] is not None,
                        [], ("income_interruption_date", "loan_status"),
                        "income_interruption_date", (15, "days"), 0, v, on, history, findings))
        out.append(rule("borrower_event", v["borrower_status"] != "normal", [],
                        ("borrower_status",), "borrower_status_date", (7, "days"), 0, v, on,
                        history, findings))

        # loan_status == "active" and loan_type == "residential" and property_use == "business"
        use = v["property_use"]
        holds = all3(active, v["loan_type"] == "residential",
                     None if use is None else use == "business")
        out.append(rule("residential_business_use", holds, ["property_use"],
                        ("loan_status", "loan_type", "property_use"), "property_use_verified_date",
                        (15, "days"), 0, v, on, history, findings, repeat=(180, "days")))

        # loan_status == "active" and monthly_debt_payment / monthly_income > total_dti_max
        burden = ratio(v["monthly_debt_payment"], v["monthly_income"])
        holds = all3(active, None if burden is None else burden > TOTAL_DTI_MAX)
        missing = [n for n in ("monthly_debt_payment", "monthly_income") if v[n] is None]
        out.append(rule("debt_burden_review", holds, missing,
                        ("as_of", "loan_status", "monthly_debt_payment", "monthly_income"),
                        "income_verified_date", (30, "days"), 0, v, on, history, findings,
                        repeat=(180, "days"), cooldown_days=180))

        # loan_status == "active" and as_of > insurance_expiry_date
        expiry = v["insurance_expiry_date"]
        out.append(rule("insurance_lapsed", all3(active, None if expiry is None else on > expiry),
                        ["insurance_expiry_date"],
                        ("as_of", "insurance_expiry_date", "loan_status"),
                        "insurance_expiry_date", (15, "days"), 0, v, on, history, findings))

        # the collection ladder, all anchored to delinquency_start_date
        late = ("days_past_due",)
        out.append(rule("overdue_reminder", dpd >= 1, [], late, "delinquency_start_date",
                        (3, "days"), 0, v, on, history, findings))
        out.append(rule("early_live_contact", dpd >= 1, [], late, "delinquency_start_date",
                        (7, "days"), 0, v, on, history, findings, repeat=(1, "months")))
        out.append(rule("written_notice", dpd >= 30, [], late, "delinquency_start_date",
                        (30, "days"), 10, v, on, history, findings, repeat=(3, "months")))
        out.append(rule("collection_site_visit", dpd > 90, [], late, "delinquency_start_date",
                        (90, "days"), 15, v, on, history, findings))
        out.append(rule("律师函", dpd > 90, [], late, "delinquency_start_date", (90, "days"), 15,
                        v, on, history, findings))
        out.append(rule("acceleration_review", v["consecutive_missed_installments"] >= 3
                        or v["cumulative_missed_installments"] >= 6, [],
                        ("consecutive_missed_installments", "cumulative_missed_installments"),
                        "default_event_date", (15, "days"), 15, v, on, history, findings))
        out.append(rule("mortgage_release", not active, [], on_loan, "payoff_date", (15, "days"),
                        0, v, on, history, findings))
        return out
