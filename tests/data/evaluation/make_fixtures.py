"""Generates the evaluation fixtures and their expected outputs with the nnunetv2 reference.

Run once with the reference's Python (see docs/HELPERS.md):
    /root/.cache/nnfleet/venv/bin/python tests/data/evaluation/make_fixtures.py
Inputs come from real hippocampus labels (data/Task04_Hippocampus), cropped and perturbed so the
files stay small. Outputs (committed):
  metrics/{ref,pred}/*.nii.gz, metrics/dataset.json, metrics/expected_summary.json
  metrics_ignore/... the same with an ignore label (v2 dataset.json)
  selection/gt/*.nii.gz, selection/dataset.json,
  selection/probabilities/<config>/fold_<k>/<case>.nii.gz   (4D float32: the 4th axis is the class)
  selection/expected/inference_information.json, postprocessing.json, <candidate>.summary.json
"""
import json
import os
import pickle
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import SimpleITK as sitk

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
LABELS = REPO / "data" / "Task04_Hippocampus" / "labelsTr"
RNG = np.random.default_rng(20261203)


def crop_label(case, margin=2):
    """The label's foreground box (+ margin), every second voxel: both classes, ~3k voxels."""
    arr = sitk.GetArrayFromImage(sitk.ReadImage(str(LABELS / f"{case}.nii.gz"))).astype(np.uint8)
    nz = np.argwhere(arr > 0)
    lo = np.maximum(nz.min(0) - margin, 0)
    hi = np.minimum(nz.max(0) + 1 + margin, arr.shape)
    return arr[lo[0]:hi[0]:2, lo[1]:hi[1]:2, lo[2]:hi[2]:2].copy()


def write_seg(arr, path, spacing=(1.0, 1.0, 1.0)):
    img = sitk.GetImageFromArray(arr.astype(np.uint8))
    img.SetSpacing(spacing)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(img, str(path), True)


def perturb(seg, flip_fraction, blobs=0, shift=0):
    out = np.roll(seg, shift, axis=2) if shift else seg.copy()
    flip = RNG.random(seg.shape) < flip_fraction
    out[flip] = RNG.integers(0, 3, size=int(flip.sum()))
    for _ in range(blobs):
        z, y, x = (RNG.integers(0, s - 2) for s in seg.shape)
        out[z:z + 2, y:y + 2, x:x + 2] = RNG.integers(1, 3)
    return out.astype(np.uint8)


# ---------------------------------------------------------------- metrics
def metrics_cases():
    a = crop_label("hippocampus_001")
    b = crop_label("hippocampus_003")
    c = crop_label("hippocampus_004")
    cases = {}
    cases["case_perturbed"] = (a, perturb(a, 0.05, blobs=2))
    b_ref = b.copy(); b_ref[b_ref == 2] = 0                      # label 2 absent in reference
    cases["case_false_positive_class"] = (b_ref, perturb(b, 0.02))  # ... but predicted
    c_both = c.copy(); c_both[c_both == 2] = 0
    c_pred = perturb(c_both, 0.0, shift=1); c_pred[c_pred == 2] = 0
    cases["case_both_empty_class"] = (c_both, c_pred)             # label 2 empty in both: NaN
    cases["case_empty_prediction"] = (a, np.zeros_like(a))        # Dice 0 for every label
    cases["case_exact"] = (c, c.copy())
    return cases


def run_metrics(folder, cases, dataset_json, labels, ignore_label):
    from nnunetv2.evaluation.evaluate_predictions import compute_metrics_on_folder
    from nnunetv2.imageio.simpleitk_reader_writer import SimpleITKIO
    if folder.exists():
        shutil.rmtree(folder)
    for name, (ref, pred) in cases.items():
        write_seg(ref, folder / "ref" / f"{name}.nii.gz", spacing=(0.8, 1.0, 1.2))
        write_seg(pred, folder / "pred" / f"{name}.nii.gz", spacing=(0.8, 1.0, 1.2))
    (folder / "dataset.json").write_text(json.dumps(dataset_json, indent=1))
    compute_metrics_on_folder(str(folder / "ref"), str(folder / "pred"),
                              str(folder / "expected_summary.json"), SimpleITKIO(), ".nii.gz",
                              labels, ignore_label, num_processes=1)


def make_metrics():
    run_metrics(HERE / "metrics", metrics_cases(),
                {"labels": {"0": "background", "1": "Anterior", "2": "Posterior"}}, [1, 2], None)
    a = crop_label("hippocampus_006")
    ref = a.copy()
    ref[:3] = 3                                                   # ignored slab
    cases = {"case_ignore": (ref, perturb(a, 0.1)), "case_ignore_exact": (ref, np.where(ref == 3, 1, ref))}
    run_metrics(HERE / "metrics_ignore", cases,
                {"labels": {"background": 0, "Anterior": 1, "Posterior": 2, "ignore": 3},
                 "file_ending": ".nii.gz"}, [1, 2], 3)


# ---------------------------------------------------------------- selection
CONFIGS = {  # name: (noise level, flip fraction, spurious blobs, blur)
    "2d": (1.2, 0.03, 1, False),
    "3d_fullres": (0.9, 0.02, 2, False),
    "3d_lowres": (0.7, 0.0, 3, True),
}
SEL_CASES = ["hippocampus_%03d" % i for i in (1, 3, 4, 6, 7, 8, 11, 14, 15, 19)]


def probabilities_for(seg, noise, flips, blobs, blur):
    target = perturb(seg, flips, blobs=blobs)
    logits = np.eye(3, dtype=np.float32)[target].transpose(3, 0, 1, 2) * 3.0
    logits += RNG.normal(0, noise, size=logits.shape).astype(np.float32)
    if blur:
        logits = (logits + np.roll(logits, 1, axis=1) + np.roll(logits, -1, axis=1)) / 3.0
    p = np.exp(logits - logits.max(0, keepdims=True))
    p /= p.sum(0, keepdims=True)
    return (np.round(p * 32) / 32).astype(np.float32)       # multiples of 1/32: exact averages


def make_selection_inputs(sel):
    if sel.exists():
        shutil.rmtree(sel)
    dataset_json = {"labels": {"background": 0, "Anterior": 1, "Posterior": 2},
                    "channel_names": {"0": "MRI"}, "numTraining": len(SEL_CASES), "file_ending": ".nii.gz"}
    (sel / "probabilities").mkdir(parents=True)
    (sel / "dataset.json").write_text(json.dumps(dataset_json, indent=1))
    probs = {}
    for i, case in enumerate(SEL_CASES):
        seg = crop_label(case)
        write_seg(seg, sel / "gt" / f"{case}.nii.gz")
        for config, params in CONFIGS.items():
            p = probabilities_for(seg, *params)
            probs[(config, case)] = (p, i % 5)
            arr4 = sitk.GetImageFromArray(p, isVector=False)  # 4D scalar image: class = 4th axis
            out = sel / "probabilities" / config / f"fold_{i % 5}" / f"{case}.nii.gz"
            out.parent.mkdir(parents=True, exist_ok=True)
            sitk.WriteImage(arr4, str(out), True)
    return dataset_json, probs


def minimal_plans(dataset_name):
    conf = {"data_identifier": "x", "preprocessor_name": "DefaultPreprocessor", "batch_size": 2,
            "patch_size": [16, 16, 16], "median_image_size_in_voxels": [16, 16, 16],
            "spacing": [1, 1, 1], "normalization_schemes": ["ZScoreNormalization"],
            "use_mask_for_norm": [False], "resampling_fn_data": "resample_data_or_seg_to_shape",
            "resampling_fn_seg": "resample_data_or_seg_to_shape",
            "resampling_fn_data_kwargs": {}, "resampling_fn_seg_kwargs": {},
            "resampling_fn_probabilities": "resample_data_or_seg_to_shape",
            "resampling_fn_probabilities_kwargs": {}, "architecture": {}, "batch_dice": False}
    return {"dataset_name": dataset_name, "plans_name": "nnUNetPlans",
            "original_median_spacing_after_transp": [1, 1, 1],
            "original_median_shape_after_transp": [16, 16, 16], "image_reader_writer": "SimpleITKIO",
            "transpose_forward": [0, 1, 2], "transpose_backward": [0, 1, 2],
            "configurations": {c: dict(conf) for c in CONFIGS}, "experiment_planner_used": "x",
            "label_manager": "LabelManager", "foreground_intensity_properties_per_channel": {}}


def run_selection(sel, dataset_json, probs):
    root = Path(tempfile.mkdtemp())
    name = "Dataset999_EvalFixture"
    for var in ("nnUNet_raw", "nnUNet_preprocessed", "nnUNet_results"):
        os.environ[var] = str(root / var)
        (root / var / name).mkdir(parents=True)
    plans = minimal_plans(name)
    pre = root / "nnUNet_preprocessed" / name
    (pre / "nnUNetPlans.json").write_text(json.dumps(plans))
    (pre / "dataset.json").write_text(json.dumps(dataset_json))
    shutil.copytree(sel / "gt", pre / "gt_segmentations")
    for (config, case), (p, fold) in probs.items():
        model = root / "nnUNet_results" / name / f"nnUNetTrainer__nnUNetPlans__{config}"
        val = model / f"fold_{fold}" / "validation"
        val.mkdir(parents=True, exist_ok=True)
        (model / "plans.json").write_text(json.dumps(plans))
        (model / "dataset.json").write_text(json.dumps(dataset_json))
        np.savez_compressed(val / f"{case}.npz", probabilities=p)
        props = {"sitk_stuff": {"spacing": (1.0, 1.0, 1.0), "origin": (0.0, 0.0, 0.0),
                                "direction": (1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0)}, "spacing": [1, 1, 1]}
        with open(val / f"{case}.pkl", "wb") as f:
            pickle.dump(props, f)
        write_seg(np.argmax(p, 0), val / f"{case}.nii.gz")
    from nnunetv2.evaluation.find_best_configuration import (
        find_best_configuration, dumb_trainer_config_plans_to_trained_models_dict)
    models = dumb_trainer_config_plans_to_trained_models_dict(["nnUNetTrainer"], list(CONFIGS), ["nnUNetPlans"])
    info = find_best_configuration(name, models, allow_ensembling=True, num_processes=1)
    exp = sel / "expected"
    exp.mkdir()
    res = root / "nnUNet_results" / name
    (exp / "inference_information.json").write_text(json.dumps(info, indent=1, default=str))
    for k in info["all_results"]:
        src = (res / k / "crossval_results_folds_0_1_2_3_4" if not k.startswith("ensemble")
               else res / "ensembles" / k)
        shutil.copy(src / "summary.json", exp / f"{k}.summary.json")
        if (src / "postprocessing.json").exists():
            shutil.copy(src / "postprocessing.json", exp / "postprocessing.json")
            shutil.copy(src / "postprocessed" / "summary.json", exp / "postprocessed.summary.json")
    shutil.rmtree(root)


if __name__ == "__main__":
    make_metrics()
    sel = HERE / "selection"
    run_selection(sel, *make_selection_inputs(sel))
    print("fixtures written to", HERE, file=sys.stderr)
