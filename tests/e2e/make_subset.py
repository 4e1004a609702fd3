#!/usr/bin/env python3
"""make_subset.py SRC DST N [N_TEST]: an MSD raw dataset of the first N cases of SRC (symlinks) with
its own dataset.json and SOURCE.txt (CC-BY-SA 4.0 attribution travels with the data); with N_TEST,
the images of the next N_TEST cases become its imagesTs/ (listed under "test")."""
import json
import os
import shutil
import sys

src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
n_test = int(sys.argv[4]) if len(sys.argv) > 4 else 0
os.makedirs(os.path.join(dst, "imagesTr"), exist_ok=True)
os.makedirs(os.path.join(dst, "labelsTr"), exist_ok=True)
meta = json.load(open(os.path.join(src, "dataset.json")))
everything = sorted(meta["training"], key=lambda e: e["image"])
meta["training"] = everything[:n]
meta["test"] = []
if n_test:
    os.makedirs(os.path.join(dst, "imagesTs"), exist_ok=True)
    for entry in everything[n:n + n_test]:
        name = os.path.basename(entry["image"])
        link = os.path.join(dst, "imagesTs", name)
        if not os.path.lexists(link):
            os.symlink(os.path.abspath(os.path.join(src, "imagesTr", name)), link)
        meta["test"].append("./imagesTs/" + name)
meta["numTest"] = len(meta["test"])
meta["numTraining"] = len(meta["training"])
for entry in meta["training"]:
    for key, folder in (("image", "imagesTr"), ("label", "labelsTr")):
        name = os.path.basename(entry[key])
        link = os.path.join(dst, folder, name)
        if not os.path.lexists(link):
            os.symlink(os.path.abspath(os.path.join(src, folder, name)), link)
with open(os.path.join(dst, "dataset.json"), "w") as f:
    json.dump(meta, f, indent=1)
shutil.copy(os.path.join(src, "SOURCE.txt"), os.path.join(dst, "SOURCE.txt"))
