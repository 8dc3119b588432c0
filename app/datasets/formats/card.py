"""The dataset card `README.md` of a release. Pure: the release's figures in,
Markdown out."""
from __future__ import annotations

from collections.abc import Mapping


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.1f}%"


def _num(x: float | None, spec: str = ".3f") -> str:
    return "–" if x is None else format(x, spec)


def render_card(info: Mapping) -> str:
    """info: {"name", "created_at", "description", "licence", "parent", "params",
    "counts", "stats", "consensus" {"method", "run_id", "policy"}, "annotators",
    "gold" {"answered", "correct"}, "diff" (to the parent) or None, "votes_file"}."""
    s, c, p = info["stats"], info["counts"], info["params"]
    exprs = s["expressions"]
    out = [f"# {info['name']}", ""]
    if info.get("description"):
        out += [info["description"], ""]
    out += [
        f"A dataset release of fervlab, made {info['created_at']}: {s['clips']} face clips of dynamic facial "
        "expressions in the FERV39k layout, with labels trusted by crowd consensus or expert review.", "",
        "## Licence and terms", "", info.get("licence") or "Not set by the administrator: ask the publisher.", "",
        "## Contents", "",
        "| file | what |", "|---|---|",
        "| `2_ClipsforFaceCrop/<Scene>/<Expression>/<NNNN>/*.jpg` | face-crop frames of each clip |",
        "| `4_setups/All_scenes/{train,test}_All.csv` | the split, in FERV39k's line format |",
        "| `clips.csv` | one line per clip: label, posterior, votes, agreement, split, source video and quality |",
        "| `votes.csv` | every vote (`task,worker,label`, annotators pseudonymised): re-run the consensus with "
        "`fervlab aggregate votes.csv` or crowd-kit |", "",
        "## Counts", "",
        f"Train {s['splits']['train']} / test {s['splits']['test']} clips "
        f"(test share asked: {p.get('test_share')}, seed {p.get('seed')}; stratified by scene × expression, "
        "a clip keeps its split across releases).", "",
        "| scenario | clips |", "|---|---:|",
        *[f"| {k} | {v} |" for k, v in s["per_scenario"].items()], "",
        "| scene | " + " | ".join(exprs) + " | all | Fleiss κ | Krippendorff α |",
        "|---|" + "---:|" * (len(exprs) + 3),
    ]
    for sc in s["scenes"]:
        name = sc["scene"]
        if name not in s["per_scene"]:
            continue
        row = s["heatmap"].get(name, {})
        ag = s["agreement"].get(name, {})
        out.append(f"| {name} | " + " | ".join(str(row.get(e, 0)) for e in exprs)
                   + f" | {s['per_scene'][name]} | {_num(ag.get('kappa'))} | {_num(ag.get('alpha'))} |")
    ag = s["agreement_all"]
    out += [
        "| **all** | " + " | ".join(str(s["per_expression"][e]) for e in exprs)
        + f" | {s['clips']} | {_num(ag.get('kappa'))} | {_num(ag.get('alpha'))} |", "",
        "| expression | share | train | test |", "|---|---:|---:|---:|",
        *[f"| {e} | {_pct(s['class_shares'][e])} | {s['split_by_expression'][e]['train']} | "
          f"{s['split_by_expression'][e]['test']} |" for e in exprs], "",
        "## Votes and annotators", "",
        f"- {s['votes']} votes, {s['votes_per_clip']} per clip on average, from {info['annotators']} annotators.",
    ]
    gold = info["gold"]
    if gold["answered"]:
        out.append(f"- Gold accuracy of the annotators: {_pct(gold['correct'] / gold['answered'])} "
                   f"over {gold['answered']} gold answers.")
    else:
        out.append("- No gold answers were given.")
    src = s["sources"]
    out += [
        f"- Labels by source: {src.get('consensus', 0)} crowd consensus, {src.get('review', 0)} expert review, "
        f"{src.get('import', 0)} imported with the clip.", "",
        "## Consensus", "",
        f"Method `{info['consensus'].get('method') or 'live'}` (run {info['consensus'].get('run_id') or '–'}); "
        f"policy: {info['consensus'].get('policy') or 'each campaign’s trust threshold and minimum votes'}. "
        f"Minimum posterior asked for this release: {p.get('min_posterior') if p.get('min_posterior') is not None else 'none'}.",
        "", "Left out: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in c.items() if k != "included" and v)
        + ".", "",
        "Posterior of the included labels:", "", "| posterior | clips |", "|---|---:|",
    ]
    h = s["posterior_histogram"]
    for lo, hi, n in zip(h["edges"], h["edges"][1:], h["counts"]):
        out.append(f"| {lo:.1f}–{hi:.1f} | {n} |")
    if h["no_posterior"]:
        out.append(f"| none (imported label) | {h['no_posterior']} |")
    out += ["", "## Lineage", ""]
    if info.get("parent"):
        d = info.get("diff") or {}
        out.append(f"Parent release: `{info['parent']}`. Since then: {d.get('added', 0)} clips added, "
                   f"{d.get('removed', 0)} removed, {d.get('relabelled', 0)} relabelled, "
                   f"{d.get('split_changed', 0)} changed split.")
    else:
        out.append("No parent release: this is the first.")
    return "\n".join(out) + "\n"
