"""Nightly follow-up run on Spark: a policy over warehouse tables, actions out as Parquet.

    spark-submit --master yarn --deploy-mode client \
      --conf spark.sql.decimalOperations.allowPrecisionLoss=false \
      --conf spark.sql.session.timeZone=UTC \
      --conf spark.sql.constraintPropagation.enabled=false \
      --py-files followup_policy.zip \
      nightly_followup.py POLICY LOANS FOLLOW_UPS AS_OF OUT_DIR

LOANS and FOLLOW_UPS are table or view names (``db.loans``) or files (Parquet, JSONL,
CSV); FOLLOW_UPS may be ``-`` when the loans carry their history. Writes
``OUT_DIR/actions.parquet``, ``decisions.parquet``, ``findings.parquet`` and
``rejects.jsonl``; prints the counts. See docs/portfolio.md ("Spark").
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
from pyspark.sql import SparkSession

import followup_policy as fp
from followup_policy.engines.portfolio import evaluate_portfolio


def main(argv: list[str]) -> int:
    policy_path, loans, follow_ups, as_of, out = argv
    spark = SparkSession.builder.appName("followup-policy nightly").getOrCreate()
    policy = fp.load_policy(policy_path)
    result = evaluate_portfolio(policy, loans, None if follow_ups == "-" else follow_ups,
                                as_of=date.fromisoformat(as_of), backend="spark",
                                spark=spark)
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    pq.write_table(result.actions, target / "actions.parquet")
    pq.write_table(result.decisions, target / "decisions.parquet")
    pq.write_table(result.findings, target / "findings.parquet")
    with open(target / "rejects.jsonl", "w", encoding="utf-8") as stream:
        for reject in result.rejects:
            stream.write(json.dumps(asdict(reject), ensure_ascii=False) + "\n")
    print(f"{result.decisions.num_rows} decisions, {result.actions.num_rows} actions,"
          f" {result.findings.num_rows} findings, {len(result.rejects)} rejects")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
