#!/usr/bin/env python3
"""check_sweep.py RESULTS_DATASET RAW_DATASET CONFIG...: asserts a finished sweep's outputs."""
import csv
import json
import math
import os
import sys

results, raw, configs = sys.argv[1], sys.argv[2], sys.argv[3:]
cases = sorted(os.path.basename(e["image"]).replace(".nii.gz", "")
               for e in json.load(open(os.path.join(raw, "dataset.json")))["training"])
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def load(path):
    with open(path) as f:
        return json.loads(f.read().replace("NaN", "null"))


state = load(os.path.join(results, "sweep_state.json"))
for job in state["jobs"]:
    check(job["state"] == "done", f"job {job['job']} is {job['state']}")

for config in configs:
    seen = []
    for fold in range(5):
        d = os.path.join(results, config, f"fold_{fold}")
        for name in ("checkpoint_final.pt", "training_log.txt", "progress.csv",
                     "validation/summary.json"):
            check(os.path.exists(os.path.join(d, name)), f"{d}/{name} missing")
        summary = load(os.path.join(d, "validation", "summary.json"))
        for entry in summary["metric_per_case"]:
            case = os.path.basename(entry["prediction_file"]).replace(".nii.gz", "")
            seen.append(case)
            check(os.path.exists(os.path.join(d, "validation", case + ".nii.gz")), f"{case} seg missing")
            check(os.path.exists(os.path.join(d, "validation", case + ".h5")), f"{case} probabilities missing")
            for label, m in entry["metrics"].items():
                dice = m["Dice"]
                check(dice is None or (0.0 <= dice <= 1.0), f"{config} fold {fold} {case} label {label} Dice {dice}")
    check(sorted(seen) == cases, f"{config}: validation cases {sorted(seen)} != training cases {cases}")

sel = os.path.join(results, "selection")
for name in ("ranking.csv", "decision.json", "postprocessing.json", "inference_instructions.txt"):
    check(os.path.exists(os.path.join(sel, name)), f"selection/{name} missing")
with open(os.path.join(sel, "ranking.csv")) as f:
    rows = list(csv.DictReader(f))
check(len(rows) == len(configs) + len(configs) * (len(configs) - 1) // 2,
      f"ranking has {len(rows)} rows for {len(configs)} configurations")
with open(os.path.join(results, "summary.csv")) as f:
    rows = list(csv.DictReader(f))
check(len(rows) > 0, "summary.csv is empty")
for r in rows:
    v = float(r["Dice"]) if r["Dice"] not in ("", "nan", "NaN") else math.nan
    check(math.isnan(v) or 0.0 <= v <= 1.0, f"summary.csv Dice {r['Dice']}")

if failures:
    print("FAIL:\n  " + "\n  ".join(failures[:30]))
    sys.exit(1)
print(f"sweep outputs OK: {len(state['jobs'])} jobs, {len(cases)} cases, configurations {configs}")
