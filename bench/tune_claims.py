"""Calibrate the claim check on the claim set, and report it by language pair.

The claim set (`tests/data/claims.jsonl`, see `rag/evaluation/claimset.py`) holds 243
claims their cited sentence does not state and 213 it does, each in Swedish,
Norwegian and English. This builds an index of seeds/ in a temporary
directory, checks every claim against the passages holding its evidence,
and scans the check's bars (`Settings.claim_*`) on the calibration half
only: the chosen bars are those with no false accept there and the most
supported claims passed, the strictest on a tie (a false claim shown is
worse than a true one dropped). It then prints, for the chosen and the
current bars, both halves by language pair and by kind.

    .venv/bin/python bench/tune_claims.py [--out bench/out/claims.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.evaluation.claimset import check, load_claims, prepare, summarize  # noqa: E402
from rag.ingest.pipeline import build_index  # noqa: E402
from rag.search.retrieval import get_retriever  # noqa: E402
from rag.settings import Settings  # noqa: E402

GRID = {
    "min_similarity": [0.86, 0.87],
    "min_similarity_cross": [0.87, 0.88],
    "min_coverage": [0.67, 0.8],
    "max_disorder": [0.3, 1.0],
    "min_similarity_anchored": [0.82, 0.83, 0.84, 0.85, 0.87],
    "anchors": [2, 3],
}


def table(prepared, rules) -> dict:
    return summarize(prepared, [check(p, rules) for p in prepared])


def show(title: str, result: dict) -> None:
    print(f"\n{title}")
    for split in ("calibration", "held-out", "all"):
        print(f"  {split}")
        for row, c in sorted(result[split].items(), key=lambda kv: (kv[0] != "all", kv[0])):
            print(
                f"    {row:26s} supported {c['supported_passed']:3d}/{c['supported']:3d}"
                f"   false accepts {c['false_accepts']:3d}/{c['unsupported']:3d}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", default=str(ROOT / "tests/data/claims.jsonl"))
    parser.add_argument("--out", help="write the scan and the chosen bars here (JSON)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(index_dir=Path(tmp) / "index")
        build_index(settings)
        prepared = prepare(load_claims(args.claims), get_retriever(settings))
        base = settings.claim_rules()
        scan = []
        for values in itertools.product(*GRID.values()):
            rules = dataclasses.replace(base, **dict(zip(GRID, values, strict=True)))
            cal = table(prepared, rules)["calibration"]["all"]
            scan.append((rules, cal))
        clean = [(r, c) for r, c in scan if c["false_accepts"] == 0]
        best = max(
            clean,
            key=lambda rc: (
                rc[1]["supported_passed"],
                rc[0].min_coverage,
                rc[0].min_similarity_anchored,
                rc[0].anchors,
                rc[0].min_similarity_cross,
                -rc[0].max_disorder,
                rc[0].min_similarity,
            ),
        )[0]
        print(f"chosen on the calibration half: {best}")
        chosen = table(prepared, best)
        show("chosen bars", chosen)
        if best != base:
            show(f"current bars {base}", table(prepared, base))
    if args.out:
        rows = [{**dataclasses.asdict(r), **c} for r, c in scan]
        payload = {"chosen": dataclasses.asdict(best), "result": chosen, "scan": rows}
        Path(args.out).write_text(json.dumps(payload, indent=1))


if __name__ == "__main__":
    main()
