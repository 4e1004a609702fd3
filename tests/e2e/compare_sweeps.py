#!/usr/bin/env python3
"""compare_sweeps.py A B: the per-fold validation metrics and the selection decision of two sweep
result folders are equal (file paths inside the summaries are ignored)."""
import json
import os
import sys

a, b = sys.argv[1], sys.argv[2]


def load(path):
    with open(path) as f:
        return json.loads(f.read().replace("NaN", "null"))


def metrics(path):
    s = load(path)
    return {os.path.basename(e["prediction_file"]): e["metrics"] for e in s["metric_per_case"]}, s["mean"]


diffs = []
for root, _, files in os.walk(a):
    for name in files:
        if name != "summary.json" or "validation" not in root:
            continue
        rel = os.path.relpath(os.path.join(root, name), a)
        other = os.path.join(b, rel)
        if not os.path.exists(other):
            diffs.append(f"{rel} missing in {b}")
        elif metrics(os.path.join(a, rel)) != metrics(other):
            diffs.append(f"{rel} differs")
da, db = load(os.path.join(a, "selection", "decision.json")), load(os.path.join(b, "selection", "decision.json"))


def strip(d):
    """d without the entries that name a location (folders, paths, files), at any depth."""
    if isinstance(d, dict):
        return {k: strip(v) for k, v in d.items()
                if not any(w in k for w in ("folder", "path", "_file"))}
    if isinstance(d, list):
        return [strip(v) for v in d]
    return d


if strip(da) != strip(db):
    diffs.append("selection/decision.json differs")
if diffs:
    print("FAIL:\n  " + "\n  ".join(diffs))
    sys.exit(1)
print("resumed sweep equals the uninterrupted one")
