"""Generates sliding_window_fixtures.json from nnunetv2 (run with the reference venv's python).

Tile positions come from nnunetv2.inference.sliding_window_prediction.compute_steps_for_sliding_window,
Gaussian importance maps from compute_gaussian (sigma 1/8, value scaling 10, float32 and float16),
padding from acvl_utils.pad_nd_image.
"""
import json
import pathlib

import numpy as np
import torch
from acvl_utils.cropping_and_padding.padding import pad_nd_image
from nnunetv2.inference.sliding_window_prediction import compute_gaussian, compute_steps_for_sliding_window

STEP_CASES = [
    ((36, 50, 35), (40, 56, 40), 0.5),  # hippocampus after padding: equal to the patch
    ((40, 56, 40), (40, 56, 40), 0.5),
    ((110, 64, 65), (64, 64, 64), 0.5),
    ((231, 512, 512), (80, 192, 160), 0.5),
    ((97, 301, 259), (64, 128, 96), 0.5),
    ((97, 301, 259), (64, 128, 96), 0.25),
    ((97, 301, 259), (64, 128, 96), 1.0),
    ((129, 129), (64, 64), 0.5),
    ((513, 447), (512, 320), 0.7),
]
GAUSS_CASES = [(8, 10, 12), (5, 7), (40, 56, 40), (64, 64)]
PAD_CASES = [((36, 50, 35), (40, 56, 40)), ((12, 70, 9), (16, 64, 16)), ((31, 20), (32, 32))]


def main():
    out = {"steps": [], "gaussian": [], "padding": []}
    for image, tile, step in STEP_CASES:
        out["steps"].append({"image": image, "tile": tile, "step": step,
                             "steps": [[int(v) for v in s] for s in compute_steps_for_sliding_window(image, tile, step)]})
    for tile in GAUSS_CASES:
        entry = {"tile": tile}
        for name, dtype in (("float32", torch.float32), ("float16", torch.float16)):
            g = compute_gaussian(tuple(tile), sigma_scale=1. / 8, value_scaling_factor=10, dtype=dtype,
                                 device=torch.device("cpu")).float().numpy()
            flat = g.ravel()
            idx = np.linspace(0, flat.size - 1, num=min(flat.size, 64)).astype(int)
            entry[name] = {"sum": float(flat.astype(np.float64).sum()), "min": float(flat.min()),
                           "max": float(flat.max()), "index": idx.tolist(),
                           "values": flat[idx].tolist()}
        out["gaussian"].append(entry)
    for shape, patch in PAD_CASES:
        a = torch.arange(int(np.prod(shape)), dtype=torch.float32).reshape((1, *shape)) + 1
        padded, slicer = pad_nd_image(a, patch, "constant", {"value": 0}, True, None)
        lo = [int(s.start) for s in slicer[1:]]
        out["padding"].append({"shape": shape, "patch": patch, "padded": list(padded.shape[1:]),
                               "before": lo})
    path = pathlib.Path(__file__).with_name("sliding_window_fixtures.json")
    path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
