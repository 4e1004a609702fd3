#!/usr/bin/env python3
"""check_test_predictions.py IMAGES_TS PREDICTIONS: every image in IMAGES_TS has a segmentation
<case>.nii.gz in PREDICTIONS with the image's grid (dimensions, spacing, origin and axes from the
NIfTI header), stored as uint8 with labels of the dataset (0, 1, 2)."""
import gzip
import os
import struct
import sys

images, predictions = sys.argv[1], sys.argv[2]
failures = []


def header(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dim = struct.unpack_from("<8h", raw, 40)
    datatype = struct.unpack_from("<h", raw, 70)[0]
    pixdim = struct.unpack_from("<8f", raw, 76)
    vox_offset = int(struct.unpack_from("<f", raw, 108)[0])
    srow = struct.unpack_from("<12f", raw, 280)
    return {"dim": dim[1:1 + dim[0]][:3], "datatype": datatype, "pixdim": pixdim[1:4],
            "srow": srow, "data": raw[vox_offset:]}


names = sorted(n for n in os.listdir(images) if n.endswith(".nii.gz"))
if not names:
    failures.append(f"no images in {images}")
for name in names:
    case = name[:-len(".nii.gz")]
    case = case[:-5] if case.endswith("_0000") else case
    pred_path = os.path.join(predictions, case + ".nii.gz")
    if not os.path.exists(pred_path):
        failures.append(f"{pred_path} is missing")
        continue
    image, pred = header(os.path.join(images, name)), header(pred_path)
    if image["dim"] != pred["dim"]:
        failures.append(f"{case}: shape {pred['dim']} != image {image['dim']}")
    if any(abs(a - b) > 1e-4 for a, b in zip(image["pixdim"], pred["pixdim"])):
        failures.append(f"{case}: spacing {pred['pixdim']} != image {image['pixdim']}")
    if any(abs(a - b) > 1e-3 for a, b in zip(image["srow"], pred["srow"])):
        failures.append(f"{case}: orientation/origin {pred['srow']} != image {image['srow']}")
    if pred["datatype"] != 2:  # NIFTI_TYPE_UINT8
        failures.append(f"{case}: datatype {pred['datatype']}, expected uint8 (2)")
    elif max(pred["data"]) > 2:
        failures.append(f"{case}: label {max(pred['data'])} is not one of the dataset's (0, 1, 2)")

for f in failures:
    print("FAIL:", f)
if failures:
    sys.exit(1)
print(f"test predictions OK: {len(names)} cases in {predictions}")
