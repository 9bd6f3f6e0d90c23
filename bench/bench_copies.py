"""Wire copies (rag/ingest/copies.py): precision and recall of copy pairs, and speed.

    .venv/bin/python bench/bench_copies.py --out bench/out/copies.json

1. Hand-written data (tests/data/copies/, labels.jsonl): every pair of its
   articles; a pair is a copy when both carry the same story label (an
   original and its hand-edited copies). For each shingle size: the exact
   Jaccard of the shingle sets (the lowest copy pair, the highest non-copy);
   for each shingle size x num_perm: precision and recall of "estimated
   Jaccard >= t" at each threshold t. Then the default settings through
   `group_batch` (chained groups, language filter): pairs in one group.
2. Programmatic edits of 55 originals (the 7 above and the 48 articles of
   tests/data/ordinary/): paragraphs dropped or only the first half kept,
   words swapped or replaced at a rate, boilerplate and "Related" lists,
   paragraphs re-broken, a combination; non-copies: every pair of different
   originals of one language, another article quoting one paragraph, and a
   follow-up that reuses two paragraphs. Recall per edit at each threshold,
   false positives over all non-copy pairs.
3. Speed: signing 1,000 articles (the texts above, each once or more);
   building a `CopyFinder` from 100,000 synthetic signatures (random values,
   three languages) and the memory it takes; matching 1,000 signatures
   against it: 500 planted near-copies whose estimated Jaccard is known (the
   LSH's recall at each level) and 500 that match nothing.

Everything runs in this process. The load average is recorded at the start
and the end; "other_cores" is the CPU that other processes used meanwhile.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

COPIES_DIR = common.ROOT / "tests" / "data" / "copies"
ORDINARY_DIR = common.ROOT / "tests" / "data" / "ordinary"
THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7)
SHINGLES = (2, 3, 4, 5, 7, 9)
NUM_PERMS = (64, 128, 256)
BOILERPLATE = {
    "en": (
        "Copyright 2024. All rights reserved.",
        "Related articles",
        "Sign up for our newsletter",
    ),
    "sv": ("Publicerad i dag 08.14", "Läs också:", "Dela artikeln"),
    "nb": ("Publisert i dag kl. 08.14", "Les også:", "(©NTB)"),
}


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def hand_written() -> list[dict]:
    rows = [json.loads(line) for line in (COPIES_DIR / "labels.jsonl").open(encoding="utf-8")]
    for row in rows:
        row["text"] = (COPIES_DIR / row["file"]).read_text(encoding="utf-8")
    return rows


def originals(hand: list[dict]) -> list[dict]:
    """The hand-written originals and the ordinary corpus: {id, language, paras}."""
    out = [
        {"id": r["file"], "language": r["language"], "paras": paragraphs(r["text"])}
        for r in hand
        if r["role"] == "original"
    ]
    for path in sorted(ORDINARY_DIR.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        out.append({"id": path.name, "language": path.name[:2], "paras": paragraphs(text)})
    return out


# ---------------------------------------------------------------- programmatic edits


def _edit_words(text: str, rate: float, rng: random.Random, pool: list[str], swap: bool) -> str:
    words = text.split(" ")
    for i in range(len(words) - 1):
        if rng.random() < rate:
            if swap:
                words[i], words[i + 1] = words[i + 1], words[i]
            else:
                words[i] = rng.choice(pool)
    return " ".join(words)


def edits(orig: dict, others: list[dict], rng: random.Random) -> dict[str, str]:
    """Edited versions of one original, by edit name. The headline is paragraph 0."""
    p = orig["paras"]
    head, body = p[0], p[1:]
    pool = [w for o in others for w in " ".join(o["paras"]).split()]
    related = [o["paras"][0] for o in rng.sample(others, 3)]
    top, label, bottom = BOILERPLATE[orig["language"]]
    text = "\n\n".join
    out = {}
    for k in (1, 2, 3):
        gone = set(rng.sample(range(len(body)), min(k, len(body) - 1)))
        out[f"drop_{k}_paragraphs"] = text(
            [head] + [b for i, b in enumerate(body) if i not in gone]
        )
    out["first_half_only"] = text([head] + body[: (len(body) + 1) // 2])
    for rate in (0.02, 0.05, 0.1):
        out[f"swap_words_{rate}"] = text([_edit_words(b, rate, rng, pool, True) for b in p])
        out[f"replace_words_{rate}"] = text([_edit_words(b, rate, rng, pool, False) for b in p])
    out["boilerplate_related"] = text([top, "New headline", *body, label, *related, bottom])
    out["rebroken"] = text([head] + [" ".join(body[i : i + 2]) for i in range(0, len(body), 2)])
    gone = rng.randrange(len(body))
    combo = [_edit_words(b, 0.03, rng, pool, False) for i, b in enumerate(body) if i != gone]
    out["combo_head_drop1_replace3pct_boiler"] = text(["Another headline", top, *combo, bottom])
    return out


def negatives(orig: dict, same_language: list[dict], rng: random.Random) -> dict[str, str]:
    """Non-copies built from one original: quoting one paragraph, a follow-up."""
    body = orig["paras"][1:]
    other = rng.choice(same_language)["paras"]
    quoted = rng.choice(body)
    follow = rng.sample(body, min(2, len(body)))
    return {
        "quotes_one_paragraph": "\n\n".join([*other[:3], f"“{quoted}”", *other[3:]]),
        "follow_up_reuses_two_paragraphs": "\n\n".join([*other[:4], *follow]),
    }


def programmatic(origs: list[dict], seed: int = 7) -> tuple[list[tuple], list[tuple]]:
    """(copy pairs, non-copy pairs): (kind, language, text a, text b)."""
    rng = random.Random(seed)
    pos, neg = [], []
    for o in origs:
        same = [x for x in origs if x["language"] == o["language"] and x["id"] != o["id"]]
        text = "\n\n".join(o["paras"])
        for name, edited in edits(o, same, rng).items():
            pos.append((name, o["language"], text, edited))
        for name, other in negatives(o, same, rng).items():
            neg.append((name, o["language"], text, other))
    for a, b in itertools.combinations(origs, 2):
        if a["language"] == b["language"]:
            neg.append(
                (
                    "different_articles",
                    a["language"],
                    "\n\n".join(a["paras"]),
                    "\n\n".join(b["paras"]),
                )
            )
    return pos, neg


# ---------------------------------------------------------------- measurements


def pr(scores: list[float], truth: list[bool], t: float) -> dict:
    tp = sum(s >= t and y for s, y in zip(scores, truth, strict=True))
    fp = sum(s >= t and not y for s, y in zip(scores, truth, strict=True))
    fn = sum(s < t and y for s, y in zip(scores, truth, strict=True))
    return {
        "precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 1.0,
        "fp": fp,
        "fn": fn,
    }


def hand_part(hand: list[dict]) -> dict:
    import numpy as np

    from rag.ingest import copies

    pairs = list(itertools.combinations(range(len(hand)), 2))
    truth = [hand[i]["story"] == hand[j]["story"] for i, j in pairs]
    exact, table = {}, {}
    for k in SHINGLES:
        sets = [copies._shingles(copies._words(r["text"]), k) for r in hand]
        js = [len(sets[i] & sets[j]) / len(sets[i] | sets[j]) for i, j in pairs]
        copy_js = [j for j, y in zip(js, truth, strict=True) if y]
        other = sorted(
            (
                (j, hand[a]["file"], hand[b]["file"])
                for j, y, (a, b) in zip(js, truth, pairs, strict=True)
                if not y
            ),
            reverse=True,
        )
        langs = [(hand[a]["language"], hand[b]["language"]) for a, b in pairs]
        cross = [j for j, (la, lb) in zip(js, langs, strict=True) if la != lb]
        exact[k] = {
            "lowest_copy_pair": round(min(copy_js), 3),
            "highest_non_copy": round(other[0][0], 3),
            "highest_non_copy_pair": other[0][1:],
            "second_highest_non_copy": round(other[1][0], 3),
            "highest_cross_language": round(max(cross), 3),
            "gap": round(min(copy_js) - other[0][0], 3),
        }
        for n in NUM_PERMS:
            sigs = [copies.signature(r["text"], r["language"], shingle=k, num_perm=n) for r in hand]
            est = [copies.similarity(sigs[i], sigs[j]) for i, j in pairs]
            err = [abs(e - j) for e, j in zip(est, js, strict=True)]
            near = [x for x, j in zip(err, js, strict=True) if j >= 0.1]  # where decisions are
            copy_est = [e for e, y in zip(est, truth, strict=True) if y]
            other_est = [e for e, y in zip(est, truth, strict=True) if not y]
            table[f"shingle{k}_perm{n}"] = {
                "rms_error_jaccard_over_0.1": round(float(np.sqrt(np.mean(np.square(near)))), 4),
                "max_abs_error": round(max(err), 3),
                "lowest_copy_pair": round(min(copy_est), 3),
                "highest_non_copy": round(max(other_est), 3),
                "by_threshold": {str(t): pr(est, truth, t) for t in THRESHOLDS},
            }
    # the defaults, as ingest would use them: chained groups, per language
    sigs = [(r["file"], r["language"], copies.signature(r["text"], r["language"])) for r in hand]
    groups = copies.group_batch(sigs)
    got = [groups[hand[i]["file"]] == groups[hand[j]["file"]] for i, j in pairs]
    grouped = pr([1.0 if g else 0.0 for g in got], truth, 0.5)
    return {
        "articles": len(hand),
        "pairs": len(pairs),
        "copy_pairs": sum(truth),
        "exact_jaccard": exact,
        "estimated": table,
        "grouped_with_defaults": grouped,
    }


def edits_part(hand: list[dict]) -> dict:
    from rag.ingest import copies

    origs = originals(hand)
    pos, neg = programmatic(origs)
    out = {"originals": len(origs), "copy_pairs": len(pos), "non_copy_pairs": len(neg)}
    for k in SHINGLES:
        for n in NUM_PERMS if k == copies.SHINGLE else (copies.NUM_PERM,):
            cache: dict[str, bytes] = {}

            def sig(text, language, k=k, n=n, cache=cache):
                if text not in cache:
                    cache[text] = copies.signature(text, language, shingle=k, num_perm=n)
                return cache[text]

            p = [(kind, copies.similarity(sig(a, lang), sig(b, lang))) for kind, lang, a, b in pos]
            q = [(kind, copies.similarity(sig(a, lang), sig(b, lang))) for kind, lang, a, b in neg]
            apart = [s for kind, s in q if kind == "different_articles"]
            row = {
                "different_articles_mean": round(sum(apart) / len(apart), 5),
                "different_articles_max": round(max(apart), 4),
            }
            for t in THRESHOLDS:
                by_edit = {}
                for kind in dict.fromkeys(kind for kind, _ in p):
                    hits = [s >= t for kd, s in p if kd == kind]
                    by_edit[kind] = round(sum(hits) / len(hits), 3)
                fp_by = {}
                for kind in dict.fromkeys(kind for kind, _ in q):
                    fp_by[kind] = sum(s >= t for kd, s in q if kd == kind)
                scores = [s for _, s in p] + [s for _, s in q]
                truth = [True] * len(p) + [False] * len(q)
                row[str(t)] = {
                    **pr(scores, truth, t),
                    "recall_by_edit": by_edit,
                    "fp_by_kind": fp_by,
                }
            out[f"shingle{k}_perm{n}"] = row
    return out


def other_cores(before: tuple[float, float, float]) -> float:
    """Cores other processes used since `before` (machine CPU, self CPU, wall clock)."""
    machine, own, wall = before
    now = own_cpu_seconds()
    used = (common.machine_cpu_seconds() - machine) - (now - own)
    return round(max(used, 0.0) / (time.perf_counter() - wall), 2)


def own_cpu_seconds() -> float:
    """CPU seconds of this process and its finished children."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def sign_part(hand: list[dict], n_sign: int) -> dict:
    from rag.ingest import copies

    texts = [(r["text"], r["language"]) for r in hand]
    texts += [("\n\n".join(o["paras"]), o["language"]) for o in originals(hand)[7:]]
    sample = [texts[i % len(texts)] for i in range(n_sign)]
    copies.signature(sample[0][0], sample[0][1])  # imports, permutations
    out = {}
    for n in NUM_PERMS:
        seconds = []
        for text, lang in sample:
            t = time.perf_counter()
            copies.signature(text, lang, num_perm=n)
            seconds.append(time.perf_counter() - t)
        out[f"perm{n}"] = {"total_s": round(sum(seconds), 3), **common.stats_ms(seconds)}
    words = sum(len(text.split()) for text, _ in sample) / len(sample)
    return {"articles": n_sign, "mean_words": round(words), "bytes": 4 + 4 * copies.NUM_PERM, **out}


def lsh_options() -> dict[str, tuple[int, int]]:
    """The LSH (bands, rows) compared: the default, two with rows of 2, and the one
    datasketch's optimizer picks for the threshold (equal weights)."""
    from datasketch.lsh import _optimal_param

    from rag.ingest import copies

    t, n = copies.THRESHOLD, copies.NUM_PERM
    return {
        "rows1_recall0.99": copies._bands(t, n, 1, 0.99),
        "rows2_recall0.9": copies._bands(t, n, 2, 0.9),
        "rows2_recall0.99": copies._bands(t, n, 2, 0.99),
        "datasketch_optimal": _optimal_param(t, n, 0.5, 0.5),
    }


def at_threshold(bands: tuple[int, int], j: float) -> float:
    """The chance that an article of Jaccard `j` is an LSH candidate."""
    b, r = bands
    return round(1 - (1 - j**r) ** b, 4)


def candidates_part(hand: list[dict]) -> dict:
    """LSH candidates per query on the real articles (hand-written and ordinary):
    the share of unrelated same-language articles each option returns."""
    from rag.ingest import copies

    items = [(r["file"], r["language"], r["story"], r["text"]) for r in hand]
    for o in originals(hand)[7:]:
        items.append((o["id"], o["language"], o["id"], "\n\n".join(o["paras"])))
    sigs = {i: copies.signature(text, lang) for i, lang, _, text in items}
    out = {}
    for name, bands in lsh_options().items():
        finder = copies.CopyFinder(bands=bands)
        for i, lang, _, _ in items:
            finder.add(i, lang, sigs[i])
        story = {i: st for i, _, st, _ in items}
        shares = []
        for i, lang, st, _ in items:
            found = finder.candidates(lang, sigs[i])
            unrelated = [x for x in found if story[x] != st]
            pool = sum(1 for x, lg, s2, _ in items if lg == lang and s2 != st)
            shares.append(len(unrelated) / pool)
        out[name] = {
            "bands_rows": list(bands),
            "p_candidate_at_threshold": at_threshold(bands, copies.THRESHOLD),
            "unrelated_candidate_share": round(sum(shares) / len(shares), 5),
        }
    return {"articles": len(items), "options": out}


def index_part(n_index: int, bands: tuple[int, int]) -> dict:
    """In a child: a CopyFinder on `n_index` random signatures (three languages),
    its build time and memory, and 1,000 matches (500 planted near-copies)."""
    import numpy as np

    from rag.ingest import copies

    n = copies.NUM_PERM
    rng = np.random.default_rng(0)
    head = copies.signature(" ".join(f"w{i}" for i in range(60)), "en")[:4]
    values = rng.integers(0, 2**32, size=(n_index, n), dtype=np.uint32)
    langs = ("sv", "nb", "en")
    stored = [  # as the store yields them: (id, language, signature, group)
        (f"a{i:07d}", langs[i % 3], head + values[i].astype("<u4").tobytes(), None)
        for i in range(n_index)
    ]
    before = rss_mb()
    finder = copies.CopyFinder(bands=tuple(bands))
    t = time.perf_counter()
    finder.extend(stored)  # as an ingest loads the live articles' signatures
    build_s = time.perf_counter() - t
    grown = rss_mb() - before
    del stored
    levels = (0.35, 0.4, 0.45, 0.5, 0.6, 0.8)
    queries = []
    for q in range(500):
        level = levels[q % len(levels)]
        target = int(rng.integers(n_index))
        v = rng.integers(0, 2**32, size=n, dtype=np.uint32)
        keep = rng.choice(n, size=-(-int(level * n * 1000) // 1000), replace=False)
        v[keep] = values[target][keep]
        queries.append((level, langs[target % 3], f"a{target:07d}", v))
    for _ in range(500):
        v = rng.integers(0, 2**32, size=n, dtype=np.uint32)
        queries.append((0.0, langs[int(rng.integers(3))], None, v))
    seconds, found, stray = [], {lv: [] for lv in levels}, 0
    for level, lang, target, v in queries:
        sig = head + v.astype("<u4").tobytes()
        t = time.perf_counter()
        m = finder.match(lang, sig)
        seconds.append(time.perf_counter() - t)
        if target is not None:
            found[level].append(m is not None and m.article_id == target)
        stray += target is None and m is not None
    # verification cost: a query whose first band collides with `k` extra articles
    # (the real corpus above gives 0.34% of unrelated same-language articles as
    # candidates with one-value bands: ~110 of 33,000)
    crowded = {}
    for k in (100, 1000):
        v = rng.integers(0, 2**32, size=n, dtype=np.uint32)
        for i in range(k):
            w = rng.integers(0, 2**32, size=n, dtype=np.uint32)
            w[: bands[1]] = v[: bands[1]]
            finder.add(f"decoy{k}-{i}", "sv", head + w.astype("<u4").tobytes())
        sig = head + v.astype("<u4").tobytes()
        times = []
        for _ in range(200):
            t = time.perf_counter()
            finder.match("sv", sig)
            times.append(time.perf_counter() - t)
        crowded[f"{k}_candidates"] = common.stats_ms(times)
    return {
        "signatures": n_index,
        "bands_rows": list(bands),
        "match_with_candidates": crowded,
        "build_s": round(build_s, 2),
        "build_us_per_article": round(build_s / n_index * 1e6, 1),
        "rss_growth_mb": round(grown, 1),
        "match": {"queries": len(queries), **common.stats_ms(seconds)},
        "planted_found_by_jaccard": {str(lv): round(sum(f) / len(f), 3) for lv, f in found.items()},
        "unplanted_matched": stray,
    }


def summary(result: dict) -> str:
    from rag.ingest import copies

    k, n, t0 = copies.SHINGLE, copies.NUM_PERM, copies.THRESHOLD
    lines = [f"defaults: shingle={k} num_perm={n} threshold={t0}"]
    lines.append("\nhand-written pairs, exact Jaccard (lowest copy pair / highest non-copy):")
    for size, row in result["hand"]["exact_jaccard"].items():
        lines.append(
            f"  shingle {size}: {row['lowest_copy_pair']:.3f} / {row['highest_non_copy']:.3f}"
            f"   cross-language max {row['highest_cross_language']:.3f}"
        )
    lines.append(f"\nshingle {k}: RMS error of the estimate (exact J >= 0.1), P and R at {t0}:")
    for perm in NUM_PERMS:
        h = result["hand"]["estimated"][f"shingle{k}_perm{perm}"]
        ht = h["by_threshold"][str(t0)]
        e = result["edits"][f"shingle{k}_perm{perm}"][str(t0)]
        lines.append(
            f"  num_perm {perm:>3}: rms {h['rms_error_jaccard_over_0.1']:.3f}"
            f"  hand P {ht['precision']:.3f} R {ht['recall']:.3f}"
            f"  edits P {e['precision']:.3f} R {e['recall']:.3f}"
        )
    lines.append(f"\nshingle {k}, num_perm {n}: P / R by threshold (hand-written | programmatic):")
    key = f"shingle{k}_perm{n}"
    for t in THRESHOLDS:
        h = result["hand"]["estimated"][key]["by_threshold"][str(t)]
        e = result["edits"][key][str(t)]
        lines.append(
            f"  t={t:<4}  {h['precision']:.3f} / {h['recall']:.3f}  |"
            f"  {e['precision']:.3f} / {e['recall']:.3f}  (fp {e['fp']}, fn {e['fn']})"
        )
    lines.append(f"\nprogrammatic edits by shingle size (num_perm {n}), at {t0}:")
    for size in SHINGLES:
        e = result["edits"][f"shingle{size}_perm{n}"]
        lines.append(
            f"  shingle {size}: P {e[str(t0)]['precision']:.3f} R {e[str(t0)]['recall']:.3f};"
            f" unrelated pairs: mean {e['different_articles_mean']:.5f},"
            f" max {e['different_articles_max']:.3f}"
        )
    g = result["hand"]["grouped_with_defaults"]
    lines.append(f"  grouped (group_batch, defaults): P {g['precision']:.3f} R {g['recall']:.3f}")
    sg = result["sign"]
    lines.append(
        f"\nsign ({sg['articles']} articles, {sg['mean_words']} words): "
        + ", ".join(f"{p}: p50 {v['p50_ms']:.2f} ms" for p, v in sg.items() if p.startswith("perm"))
    )
    lines.append("index and match (LSH option: bands x rows):")
    for name, x in result["index"].items():
        c = result["candidates"]["options"][name]
        found = x["planted_found_by_jaccard"][str(t0)]
        lines.append(
            f"  {name:<20} {x['bands_rows']}  build {x['signatures']} {x['build_s']} s,"
            f" +{x['rss_growth_mb']} MB; match p50 {x['match']['p50_ms']:.3f} ms"
            f" p95 {x['match']['p95_ms']:.3f} ms; found at J=t {found}"
            f" (P {c['p_candidate_at_threshold']});"
            f" unrelated candidates {c['unrelated_candidate_share']:.4%};"
            f" match with 1000 candidates p50"
            f" {x['match_with_candidates']['1000_candidates']['p50_ms']:.2f} ms"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/out/copies.json"))
    parser.add_argument("--index-size", type=int, default=100_000)
    parser.add_argument("--sign", type=int, default=1000)
    parser.add_argument("--child-bands", type=int, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    common.exit_on_sigterm()
    common.use_project()
    if args.child_bands:
        common.emit_result(index_part(args.index_size, tuple(args.child_bands)))
        return 0
    result = {"meta": common.machine_info({"datasketch": common.package_version("datasketch")})}
    probe = (common.machine_cpu_seconds(), own_cpu_seconds(), time.perf_counter())
    hand = hand_written()
    result["hand"] = hand_part(hand)
    result["edits"] = edits_part(hand)
    result["sign"] = sign_part(hand, args.sign)
    result["candidates"] = candidates_part(hand)
    result["index"] = {}
    for name, bands in lsh_options().items():  # each in a fresh process: its own memory
        command = [sys.executable, __file__, "--index-size", str(args.index_size)]
        command += ["--child-bands", *map(str, bands)]
        result["index"][name] = common.run_child_script(command, name, "other_cores")
    result["other_cores"] = other_cores(probe)
    result["loadavg_end"] = os.getloadavg()
    common.write_json(args.out, result)
    print(summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
