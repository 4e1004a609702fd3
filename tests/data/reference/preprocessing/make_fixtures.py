#!/usr/bin/env python3
"""Builds the preprocessing reference fixtures from nnunetv2 (PyPI), run once by hand:

    /root/.cache/nnfleet/venv/bin/python tests/data/reference/preprocessing/make_fixtures.py

Datasets (raw inputs are generated deterministically; see make_* below):
  Dataset004_Hippocampus  all 220 bundled cases (MSD layout, converted by nnUNetv2_convert_MSD_dataset)
  Dataset902_SpleenAniso  tests/data/edge spleen_8 plus spleen_8b (same voxels, header spacing 0.7x0.7x5 mm)
  Dataset903_TwoChannel   4 generated cases, MSD 4D layout with 2 channels (raw files committed here)
Outputs per dataset under tests/data/reference/preprocessing/<dataset>/: nnUNetPlans.json,
dataset_fingerprint.json and, for a few cases, <config>/<case>_data.npy (float32 C,Z,Y,X),
<case>_seg.npy (int8) and <case>_properties.json.
"""
import json, os, pickle, shutil, subprocess, sys
from pathlib import Path
import numpy as np
import SimpleITK as sitk

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[3]
BIN = Path(sys.executable).parent
WORK = Path(os.environ.get("NNREF_WORK", "/tmp/nnref"))


def run(*cmd):
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, env=os.environ)


def make_spleen(raw):
    d = raw / "Dataset902_SpleenAniso"
    (d / "imagesTr").mkdir(parents=True, exist_ok=True)
    (d / "labelsTr").mkdir(parents=True, exist_ok=True)
    src = REPO / "tests/data/edge/spleen_anisotropic_ct"
    for sub, suffix in (("imagesTr", "_0000"), ("labelsTr", "")):
        img = sitk.ReadImage(str(src / sub / "spleen_8.nii.gz"))
        sitk.WriteImage(img, str(d / sub / f"spleen_8{suffix}.nii.gz"))
        img.SetSpacing((0.7, 0.7, 5.0))
        sitk.WriteImage(img, str(d / sub / f"spleen_8b{suffix}.nii.gz"))
    json.dump({"channel_names": {"0": "CT"}, "labels": {"background": 0, "spleen": 1},
               "numTraining": 2, "file_ending": ".nii.gz", "name": "SpleenAniso"},
              open(d / "dataset.json", "w"), indent=1)


def make_two_channel(msd_root):
    """Deterministic 2-channel 4D dataset (MSD layout): a bright ellipsoid (label 1) with a core
    (label 2) inside a body that is non-zero; anisotropic spacing that varies per case."""
    d = msd_root / "Task93_TwoChannel"
    if d.exists():
        return d
    (d / "imagesTr").mkdir(parents=True)
    (d / "labelsTr").mkdir(parents=True)
    rng = np.random.RandomState(42)
    training = []
    for i, (shape, spacing) in enumerate([((12, 40, 44), (0.6, 0.6, 3.6)), ((14, 36, 40), (0.7, 0.7, 3.0)),
                                          ((10, 44, 40), (0.65, 0.6, 4.0)), ((12, 38, 38), (0.62, 0.62, 3.3))]):
        z, y, x = np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing="ij")
        body = (y ** 2 + x ** 2) < 0.85
        r = (z / 0.8) ** 2 + ((y - 0.1 * i) / 0.5) ** 2 + (x / 0.4) ** 2
        seg = np.zeros(shape, np.uint8)
        seg[r < 1] = 1
        seg[r < 0.3] = 2
        t2 = np.where(body, 100 + 20 * rng.randn(*shape) + 80 * seg.astype(np.float32), 0).astype(np.float32)
        adc = np.where(body, 1000 + 50 * rng.randn(*shape) - 300 * seg.astype(np.float32), 0).astype(np.float32)
        img = sitk.JoinSeries([sitk.GetImageFromArray(t2), sitk.GetImageFromArray(adc)])
        img.SetSpacing(tuple(spacing) + (1.0,))
        img.SetOrigin((10.0 * i, -5.0, 3.0, 0.0))
        name = f"twoch_{i:03d}.nii.gz"
        sitk.WriteImage(img, str(d / "imagesTr" / name))
        s = sitk.GetImageFromArray(seg)
        s.SetSpacing(spacing)
        s.SetOrigin((10.0 * i, -5.0, 3.0))
        sitk.WriteImage(s, str(d / "labelsTr" / name))
        training.append({"image": f"./imagesTr/{name}", "label": f"./labelsTr/{name}"})
    json.dump({"name": "TwoChannel", "tensorImageSize": "4D", "modality": {"0": "T2", "1": "ADC"},
               "labels": {"0": "background", "1": "outer", "2": "core"}, "numTraining": 4, "numTest": 0,
               "training": training, "test": []}, open(d / "dataset.json", "w"), indent=1)
    return d


def export(dataset, configs, cases, stride=1):
    """stride > 1 keeps every stride-th voxel in-plane (axes 2, 3) to keep big fixtures small."""
    pre = WORK / "preprocessed" / dataset
    out = HERE / dataset
    out.mkdir(exist_ok=True)
    for f in ("nnUNetPlans.json", "dataset_fingerprint.json", "dataset.json"):
        shutil.copy(pre / f, out / f)
    import blosc2
    for c in configs:
        src = pre / f"nnUNetPlans_{c}"
        if not src.exists():
            continue
        (out / c).mkdir(exist_ok=True)
        for case in cases:
            data = blosc2.open(str(src / f"{case}.b2nd"))[:]
            seg = blosc2.open(str(src / f"{case}_seg.b2nd"))[:]
            props_extra = {"full_shape": list(data.shape), "stride": stride}
            data, seg = data[:, :, ::stride, ::stride], seg[:, :, ::stride, ::stride]
            np.save(out / c / f"{case}_data.npy", np.ascontiguousarray(data, dtype=np.float32))
            np.save(out / c / f"{case}_seg.npy", np.ascontiguousarray(seg, dtype=np.int8))
            props = pickle.load(open(src / f"{case}.pkl", "rb"))
            cl = props.pop("class_locations", {})
            props.update(props_extra)
            props["class_location_counts"] = {str(k): int(len(v)) for k, v in cl.items()}
            json.dump(props, open(out / c / f"{case}_properties.json", "w"), indent=1,
                      default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))


def msd_copy(src, msd):
    """The converter insists on an imagesTs folder; work on a copy that has one."""
    dst = msd / src.name
    if not dst.exists():
        shutil.copytree(src, dst)
        (dst / "imagesTs").mkdir(exist_ok=True)
    return dst


def main():
    os.environ.update(nnUNet_raw=str(WORK / "raw"), nnUNet_preprocessed=str(WORK / "preprocessed"),
                      nnUNet_results=str(WORK / "results"), OMP_NUM_THREADS="1")
    raw = WORK / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    msd = WORK / "msd"
    msd.mkdir(exist_ok=True)
    committed_raw = HERE / "raw"
    two = make_two_channel(committed_raw)
    if not (raw / "Dataset004_Hippocampus").exists():
        run(BIN / "nnUNetv2_convert_MSD_dataset", "-i", msd_copy(REPO / "data/Task04_Hippocampus", msd), "-np", "2")
    if not (raw / "Dataset903_TwoChannel").exists():
        run(BIN / "nnUNetv2_convert_MSD_dataset", "-i", msd_copy(two, msd), "-overwrite_id", "903", "-np", "2")
    if not (raw / "Dataset902_SpleenAniso").exists():
        make_spleen(raw)
    which = sys.argv[1:] or ["4", "902", "903"]
    if "4" in which:
        run(BIN / "nnUNetv2_plan_and_preprocess", "-d", "4", "-c", "3d_fullres", "2d", "-np", "2", "2",
            "-npfp", "2")
        export("Dataset004_Hippocampus", ["3d_fullres", "2d"], ["hippocampus_001", "hippocampus_003"])
    if "902" in which:
        run(BIN / "nnUNetv2_plan_and_preprocess", "-d", "902", "-c", "3d_fullres", "2d", "3d_lowres",
            "-np", "1", "1", "1", "-npfp", "1")
        export("Dataset902_SpleenAniso", ["3d_fullres", "2d", "3d_lowres"], ["spleen_8b"], stride=8)
    if "903" in which:
        run(BIN / "nnUNetv2_plan_and_preprocess", "-d", "903", "-c", "3d_fullres", "2d", "3d_lowres",
            "-np", "1", "1", "1", "-npfp", "1")
        export("Dataset903_TwoChannel", ["3d_fullres", "2d", "3d_lowres"], ["twoch_000", "twoch_002"])


if __name__ == "__main__":
    main()
