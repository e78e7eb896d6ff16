"""A hand-written, plain-Python evaluator of ``policies/head_office.yaml``.

This is the yardstick the benchmarks measure the library against: the head-office
policy's semantics written out directly as ``if`` statements, date arithmetic and
dicts, with no policy engine, no compiled conditions and no pydantic. It produces
the same output as ``Decision.model_dump(mode="json")`` (timing nodes with
anchor/after/window/lead/completion, the five risk tiers, frequency by tier, the
rules with anchors/cooldown/repeat, checklists filtered per loan, Kleene logic and
``data_missing`` findings for missing data, the same reasons), and ``run.py`` checks
that it does before it times anything.

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
FIRST_HOME_MIN_DP = ((date(2023, 8, 31), Decimal("0.20")), (date(2024, 5, 17), Decimal("0.15")))
SECOND_HOME_MIN_DP = ((date(2023, 8, 31), Decimal("0.30")), (date(2024, 5, 17), Decimal("0.25")))
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

# SPEC 5.1, written out by hand: for each required channel, the entry channels that complete it
_STRONGER_THAN_PHONE = ("site_visit", "in_branch")
ACCEPTS: dict[str, frozenset[str]] = {
    "site_visit": frozenset({"site_visit"}),
    "in_branch": frozenset({"in_branch"}),
    "video_call": frozenset({"video_call", *_STRONGER_THAN_PHONE}),
    "phone": frozenset({"phone", *_STRONGER_THAN_PHONE}),
    "robot_call": frozenset({"robot_call", "phone", "video_call", *_STRONGER_THAN_PHONE}),
    "sms": frozenset({"sms", "robot_call", "phone", "video_call", *_STRONGER_THAN_PHONE}),
    "letter": frozenset({"letter"}),
}
COMPLETING_OUTCOMES = frozenset({"reached", "completed", "visited", "delivered"})


class _AnyChannel(frozenset[str]):
    """A rule action without a channel accepts every channel."""

    def __contains__(self, item: object) -> bool:
        return True


ANY_CHANNEL = _AnyChannel()
PROPERTY_USES = frozenset({"self_occupied", "rented", "vacant", "business"})


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
    for name in ("days_past_due", "consecutive_missed_installments"):
        value = get(name)
        values[name] = 0 if _blank(value) else to_int(name, value, 0)
    for name, low, high in (("homes_owned_in_city", 0, None), ("declared_home_order", 1, None),
                            ("credit_score", 0, 1000)):
        value = get(name)
        values[name] = None if _blank(value) else to_int(name, value, low, high)
    for name, low, high in (("down_payment_ratio", 0, 1), ("monthly_income", 0, None),
                            ("monthly_housing_payment", 0, None),
                            ("monthly_debt_payment", 0, None)):
        value = get(name)
        values[name] = None if _blank(value) else to_decimal(name, value, low, high)
    for name in ("delinquency_start_date", "insurance_expiry_date"):
        value = get(name)
        values[name] = None if _blank(value) else to_date(name, value)
    for name in ("in_bankruptcy", "cease_communication"):
        value = get(name)
        values[name] = False if _blank(value) else to_bool(name, value)
    use = get("property_use")
    values["property_use"] = None if _blank(use) else to_enum("property_use", use, PROPERTY_USES)
    history = get("follow_ups") or ()
    if not isinstance(history, list | tuple):
        raise BadSnapshot("follow_ups: expected a list")
    entries = []
    for entry in history:
        action = entry.get("action")
        if _blank(action) or not isinstance(action, str):
            raise BadSnapshot("follow_ups: entry without an action id")
        entries.append((action, to_date("follow_ups.date", entry.get("date")),
                        entry.get("channel"), entry.get("outcome")))
    values["follow_ups"] = entries
    return values


# -- the evaluator ----------------------------------------------------------------------------


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
        self.nodes = {node["id"]: node for node in doc["timing_nodes"]}
        self.rules = {rule["id"]: rule for rule in doc["rules"]}
        tier_text = {tier["tier"]: tier.get("when") for tier in doc["risk_tiers"]}
        self.watch_text = tier_text["关注"]
        self.property_use_item = next(item["when"] for item in lists["standard_call"]["items"]
                                      if item["id"] == "property_use")
        self.standard_without_use = [item for item in self.items["standard_call"]
                                     if item["id"] != "property_use"]
        self.annual_without_insurance = [item for item in self.items["annual_visit"]
                                         if item["id"] != "insurance"]
        self.commercial_only: str = self.nodes["m6_site"]["when"]
        # entry channels that complete each node and rule (a rule without a channel: any)
        self.accepts: dict[str, frozenset[str]] = {
            node_id: ACCEPTS[node["channel"]] for node_id, node in self.nodes.items()}
        self.accepts.update({rule_id: ACCEPTS[rule["action"]["channel"]]
                             for rule_id, rule in self.rules.items()
                             if rule["action"].get("channel")})

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _missing(findings: list[Finding], owner: str, text: str, fields: list[str]) -> None:
        fields = sorted(fields)
        named = ", ".join(fields) if fields else "no single field"
        findings.append({"rule": owner, "kind": "data_missing", "fields": fields,
                         "message": f"'{text}' could not be decided: missing {named}"})

    @staticmethod
    def _missing_anchor(findings: list[Finding], owner: str, anchor: str) -> None:
        findings.append({"rule": owner, "kind": "data_missing", "fields": [anchor],
                         "message": f"anchor date '{anchor}' is missing, so no due date can be"
                                    " set"})

    def _checklist(self, name: str, v: Values, findings: list[Finding]) -> list[dict[str, str]]:
        items = self.items[name]
        if name == "standard_call":
            # property_use: loan_type == "commercial" or property_use != "self_occupied"
            if v["loan_type"] == "commercial":
                return items
            use = v["property_use"]
            if use is None:  # unknown: keep the item, record the missing data
                self._missing(findings, "standard_call.property_use", self.property_use_item,
                              ["property_use"])
                return items
            return items if use != "self_occupied" else self.standard_without_use
        if name == "annual_visit" and v["insurance_expiry_date"] is None:
            return self.annual_without_insurance
        return items

    def _action(self, source: str, item_id: str, kind: str, title: str, status: str, due: date,
                deadline: date, channel: str | None, severity: str, category: str | None,
                reference: str | None, checklist: str | None, v: Values,
                findings: list[Finding], reasons: list[str]) -> dict[str, Any]:
        return {
            "id": item_id, "source": source, "kind": kind, "title": title, "status": status,
            "due_date": due, "deadline": deadline, "channel": channel, "severity": severity,
            "category": category, "reference": reference, "checklist_id": checklist,
            "checklist": self._checklist(checklist, v, findings) if checklist else [],
            "reasons": reasons,
        }

    # -- tiers --------------------------------------------------------------------------------

    def _tier(self, v: Values, findings: list[Finding]) -> str:
        dpd = v["days_past_due"]
        if dpd > 360:
            return "损失"
        if dpd > 270:
            return "可疑"
        if dpd > 90:
            return "次级"
        # 关注: dpd > 0 or credit_score < high_risk_score or housing / income > housing_dti_max
        if dpd > 0:
            return "关注"
        score = v["credit_score"]
        if score is not None and score < HIGH_RISK_SCORE:
            return "关注"
        burden = ratio(v["monthly_housing_payment"], v["monthly_income"])
        if burden is not None and burden > HOUSING_DTI_MAX:
            return "关注"
        if score is None or burden is None:
            missing = [] if score is not None else ["credit_score"]
            missing += [name for name in ("monthly_housing_payment", "monthly_income")
                        if v[name] is None]
            self._missing(findings, "risk_tiers.关注", self.watch_text, missing)
        return "正常"

    # -- timing nodes ------------------------------------------------------------------------

    def _node(self, node_id: str, after: tuple[int, str], window: int, lead: int, v: Values,
              on: date, latest: dict[str, date], findings: list[Finding],
              applies: str | None = None) -> dict[str, Any] | None:
        anchor = v["disbursement_date"]
        done = latest.get(node_id)
        if done is not None and done >= anchor:
            return None
        due = add(anchor, *after)
        deadline = due + timedelta(days=window)
        status = status_on(on, due, deadline, lead)
        if status is None:
            return None
        node = self.nodes[node_id]
        reasons = [f"due {show_duration(*after)} after disbursement_date {anchor.isoformat()}"
                   f" (deadline {deadline.isoformat()}, window {show_duration(window, 'days')})",
                   f"no follow-up '{node_id}' recorded since {anchor.isoformat()}"]
        if applies is not None:
            reasons.insert(0, f"applies because {applies}")
        return self._action("timing_node", node_id, "follow_up", node["title"], status, due,
                            deadline, node["channel"], node.get("severity", "medium"), None,
                            None, node["checklist"], v, findings, reasons)

    # -- rules ---------------------------------------------------------------------------------

    def _rule(self, rule_id: str, holds: bool | None, missing: list[str], shown: tuple[str, ...],
              after_days: int, v: Values, on: date, latest: dict[str, date],
              findings: list[Finding], anchor: str | None = None, cooldown_days: int = 0,
              repeat: tuple[int, str] | None = None) -> dict[str, Any] | None:
        rule = self.rules[rule_id]
        if holds is None:
            self._missing(findings, rule_id, rule["when"], missing)
            return None
        if not holds:
            return None
        anchor = anchor or "disbursement_date"  # the compiler's default for low/medium rules
        anchored = v[anchor]
        if anchored is None:
            self._missing_anchor(findings, rule_id, anchor)
            return None
        anchor_date = floor = anchored
        done = latest.get(rule_id)
        if done is not None and cooldown_days and on < done + timedelta(days=cooldown_days):
            return None
        seen = ", ".join(f"{name}={show(on if name == 'as_of' else v[name])}" for name in shown)
        reasons = [f"{rule['when']} holds ({seen})"]
        if done is not None and done >= floor:
            if repeat is None:
                return None
            due = add(done, *repeat)
            deadline = due
            status = status_on(on, due, deadline, 0)
            if status is None:
                return None
            reasons.append(f"last done {done.isoformat()}; repeats every {show_duration(*repeat)}")
        else:
            due = anchor_date + timedelta(days=after_days)
            deadline = due
            status = "overdue" if on > deadline else "due" if on >= due else "upcoming"
            reasons.append(f"due {show_duration(after_days, 'days')} after"
                           f" {anchor} {anchor_date.isoformat()}"
                           f" (deadline {deadline.isoformat()})")
        action = rule["action"]
        return self._action("rule", rule_id, action["kind"], rule.get("title") or rule_id, status,
                            due, deadline, action.get("channel"), rule["severity"],
                            rule["category"], rule.get("reference"), action.get("checklist"), v,
                            findings, reasons)

    # -- the whole policy ----------------------------------------------------------------------

    def evaluate(self, v: Values, on: date) -> dict[str, Any]:
        """The decision for one loan, from coerced values (see :func:`coerce`)."""
        # SPEC 5.1: only a completing outcome through a strong enough channel completes
        latest: dict[str, date] = {}
        completing: list[tuple[date, str]] = []
        accepts = self.accepts
        for action, when, channel, outcome in v["follow_ups"]:
            if when > on or outcome not in COMPLETING_OUTCOMES or channel is None:
                continue
            completing.append((when, channel))
            if channel not in accepts.get(action, ANY_CHANNEL):
                continue
            known = latest.get(action)
            if known is None or when > known:
                latest[action] = when
        findings: list[Finding] = []
        actions: list[dict[str, Any]] = []
        append = actions.append
        tier = self._tier(v, findings)

        for node_id, after, window, lead in (("d30", (30, "days"), 10, 7),
                                             ("m3", (3, "months"), 15, 7),
                                             ("m6", (6, "months"), 15, 7)):
            action = self._node(node_id, after, window, lead, v, on, latest, findings)
            if action is not None:
                append(action)
        if v["loan_type"] == "commercial":
            action = self._node("m6_site", (6, "months"), 30, 14, v, on, latest, findings,
                                applies=self.commercial_only)
            if action is not None:
                append(action)
        action = self._node("y1", (1, "years"), 30, 14, v, on, latest, findings)
        if action is not None:
            append(action)

        frequency_channel = self._FREQUENCY[tier][3]
        latest_any = max((when for when, channel in completing
                          if channel in ACCEPTS[frequency_channel]), default=None)
        action = self._frequency(tier, v, on, latest_any, findings)
        if action is not None:
            append(action)

        for action in self._rules(v, on, latest, findings):
            if action is not None:
                append(action)
        actions.sort(key=lambda a: (a["deadline"], a["id"]))
        return {"loan_id": v["loan_id"], "as_of": on, "tier": tier, "policy_id": self.policy_id,
                "policy_version": self.version, "policy_digest": self.digest,
                "actions": actions, "findings": findings}

    # tier: (every, window, lead, channel, checklist, severity)
    _FREQUENCY: ClassVar[dict[str, tuple[tuple[int, str], int, int, str, str, str]]] = {
        "损失": ((1, "months"), 7, 0, "site_visit", "collection_call", "critical"),
        "可疑": ((1, "months"), 7, 0, "site_visit", "collection_call", "high"),
        "次级": ((1, "months"), 7, 0, "phone", "collection_call", "high"),
        "关注": ((3, "months"), 15, 7, "phone", "standard_call", "medium"),
        "正常": ((12, "months"), 30, 14, "robot_call", "standard_call", "low"),
    }

    def _frequency(self, tier: str, v: Values, on: date, latest_any: date | None,
                   findings: list[Finding]) -> dict[str, Any] | None:
        every, window, lead, channel, checklist, severity = self._FREQUENCY[tier]
        disbursed = v["disbursement_date"]
        # history from before disbursement (a previous loan) does not reset the clock
        from_history = latest_any is not None and latest_any > disbursed
        base = latest_any if from_history and latest_any is not None else disbursed
        due = add(base, *every)
        deadline = due + timedelta(days=window)
        status = status_on(on, due, deadline, lead)
        if status is None:
            return None
        since = (f"latest completed follow-up {base.isoformat()}" if from_history
                 else f"disbursement {base.isoformat()}")
        reasons = [f"tier {tier}: follow up every {show_duration(*every)}, counted from {since}"]
        return self._action("frequency", "frequency", "periodic_follow_up", f"定期回访（{tier}）",
                            status, due, deadline, channel, severity, None, None, checklist, v,
                            findings, reasons)

    def _rules(self, v: Values, on: date, latest: dict[str, date],
               findings: list[Finding]) -> list[dict[str, Any] | None]:
        homes = v["homes_owned_in_city"]
        order = v["declared_home_order"]
        disbursed = v["disbursement_date"]
        dp = v["down_payment_ratio"]
        dpd = v["days_past_due"]
        missed = v["consecutive_missed_installments"]
        bankrupt = v["in_bankruptcy"]
        ceased = v["cease_communication"]
        out: list[dict[str, Any] | None] = []
        rule = self._rule

        # second_home_misclassified: homes_owned_in_city >= 2 and declared_home_order == 1
        owns = None if homes is None else homes >= 2
        first = None if order is None else order == 1
        if owns is False or first is False:
            holds: bool | None = False
        elif owns is None or first is None:
            holds = None
        else:
            holds = True
        missing = [n for n, x in (("homes_owned_in_city", owns), ("declared_home_order", first))
                   if x is None]
        out.append(rule("second_home_misclassified", holds, missing,
                        ("declared_home_order", "homes_owned_in_city"), 10, v, on, latest,
                        findings, repeat=(1, "years")))

        # first_home_down_payment_check: disbursed >= 2023-08-31 and order == 1
        #   and down_payment_ratio < param_at("first_home_min_down_payment", disbursement_date)
        if disbursed < RULES_FROM:
            holds, missing = False, []
        else:
            floor = param_at(FIRST_HOME_MIN_DP, disbursed)
            parts = (first, None if dp is None or floor is None else dp < floor)
            holds, missing = _and(parts, ("declared_home_order", "down_payment_ratio"))
        out.append(rule("first_home_down_payment_check", holds, missing,
                        ("declared_home_order", "disbursement_date", "down_payment_ratio"), 10, v,
                        on, latest, findings))

        # second_home_down_payment_check: disbursed >= 2023-08-31
        #   and (order >= 2 or homes >= 2) and down_payment_ratio < param_at(second..., disbursed)
        if disbursed < RULES_FROM:
            holds, missing = False, []
        else:
            second = None if order is None else order >= 2
            if second is True or owns is True:
                either: bool | None = True
                either_missing: list[str] = []
            elif second is None or owns is None:
                either = None
                either_missing = [n for n, x in (("declared_home_order", second),
                                                 ("homes_owned_in_city", owns)) if x is None]
            else:
                either, either_missing = False, []
            floor = param_at(SECOND_HOME_MIN_DP, disbursed)
            below = None if dp is None or floor is None else dp < floor
            holds, missing = _and((either, below), ("", "down_payment_ratio"))
            if either is None and holds is None:
                missing = [n for n in missing if n] + either_missing
        out.append(rule("second_home_down_payment_check", holds, missing,
                        ("declared_home_order", "disbursement_date", "down_payment_ratio",
                         "homes_owned_in_city"), 5, v, on, latest, findings))

        # residential_business_use: loan_type == "residential" and property_use == "business"
        use = v["property_use"]
        holds, missing = _and((v["loan_type"] == "residential",
                               None if use is None else use == "business"),
                              ("loan_type", "property_use"))
        out.append(rule("residential_business_use", holds, missing, ("loan_type", "property_use"),
                        15, v, on, latest, findings, repeat=(180, "days")))

        # debt_burden_review: monthly_debt_payment / monthly_income > params.total_dti_max
        burden = ratio(v["monthly_debt_payment"], v["monthly_income"])
        if burden is None:
            holds = None
            missing = [n for n in ("monthly_debt_payment", "monthly_income") if v[n] is None]
        else:
            holds, missing = burden > TOTAL_DTI_MAX, []
        out.append(rule("debt_burden_review", holds, missing,
                        ("as_of", "monthly_debt_payment", "monthly_income"), 30, v, on, latest,
                        findings, cooldown_days=180, repeat=(180, "days")))

        # early_live_contact: days_past_due >= 1 and not in_bankruptcy and not cease_communication
        out.append(rule("early_live_contact", dpd >= 1 and not bankrupt and not ceased, [],
                        ("cease_communication", "days_past_due", "in_bankruptcy"), 36, v, on,
                        latest, findings, anchor="delinquency_start_date",
                        repeat=(36, "days")))

        # written_notice: consecutive_missed_installments >= 3 and not cease_communication
        out.append(rule("written_notice", missed >= 3 and not ceased, [],
                        ("cease_communication", "consecutive_missed_installments"), 45, v, on,
                        latest, findings, anchor="delinquency_start_date", cooldown_days=180,
                        repeat=(180, "days")))

        # 律师函: consecutive_missed_installments >= 6 and not in_bankruptcy
        out.append(rule("律师函", missed >= 6 and not bankrupt, [],
                        ("consecutive_missed_installments", "in_bankruptcy"), 15, v, on, latest,
                        findings, anchor="delinquency_start_date"))

        # insurance_lapsed: as_of > insurance_expiry_date
        expiry = v["insurance_expiry_date"]
        out.append(rule("insurance_lapsed", None if expiry is None else on > expiry,
                        ["insurance_expiry_date"], ("as_of", "insurance_expiry_date"), 15, v, on,
                        latest, findings, anchor="insurance_expiry_date"))
        return out


def _and(parts: tuple[bool | None, ...], names: tuple[str, ...]) -> tuple[bool | None, list[str]]:
    """Kleene ``and`` of single-field comparisons, with the fields that left it unknown."""
    if any(part is False for part in parts):
        return False, []
    missing = [name for part, name in zip(parts, names, strict=True) if part is None]
    return (None, missing) if missing else (True, [])
