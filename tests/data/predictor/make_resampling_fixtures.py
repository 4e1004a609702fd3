"""Generates resampling_fixtures.json: nnunetv2's resample_data_or_seg_to_shape with the
probability settings of the default plans (order 1, order_z 0, force_separate_z None) on small
random float32 volumes. Run with the reference venv's python."""
import json
import pathlib

import numpy as np
from nnunetv2.preprocessing.resampling.default_resampling import resample_data_or_seg_to_shape

CASES = [  # (shape, new_shape, current_spacing, new_spacing)
    ((2, 5, 7, 6), (9, 4, 11), (1.0, 1.0, 1.0), (0.6, 1.7, 0.55)),
    ((3, 4, 6, 5), (11, 9, 7), (4.0, 1.0, 1.0), (1.5, 0.7, 0.7)),   # separate z on axis 0
    ((2, 6, 5, 3), (4, 7, 10), (1.0, 1.0, 3.5), (1.5, 0.7, 1.0)),   # separate z on axis 2
    ((2, 6, 5, 4), (3, 5, 9), (1.0, 0.8, 0.8), (2.0, 0.8, 3.5)),    # decided by the new spacing
    ((1, 3, 8, 8), (7, 8, 8), (5.0, 5.0, 1.0), (1.0, 1.0, 1.0)),    # coarsest shared: no separate z
]


def main():
    rng = np.random.RandomState(4)
    out = []
    for shape, new_shape, cur, new in CASES:
        data = rng.randn(*shape).astype(np.float32)
        res = resample_data_or_seg_to_shape(data, new_shape, cur, new, is_seg=False, order=1, order_z=0,
                                            force_separate_z=None)
        out.append({"shape": shape, "new_shape": new_shape, "current_spacing": cur, "new_spacing": new,
                    "input": data.ravel().tolist(), "output": res.astype(np.float32).ravel().tolist()})
    path = pathlib.Path(__file__).with_name("resampling_fixtures.json")
    path.write_text(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
