"""nnunetv2's side of bench_predict.sh: sliding-window logits of one preprocessed case with
nnUNetPredictor (Gaussian weighting, step 0.5, optional mirroring) and a PlainConvUNet of the
given architecture with random weights, on the CPU. Prints one JSON line with the timings.

Also used with --make-input to write the shared input: a hippocampus image z-score normalised,
as raw float32 [C, Z, Y, X] plus a JSON with the shape."""
import argparse
import json
import resource
import time
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn


def make_input(image, out):
    import SimpleITK as sitk
    a = sitk.GetArrayFromImage(sitk.ReadImage(image)).astype(np.float32)
    a = (a - a.mean()) / max(a.std(), 1e-8)
    a = a[None]
    a.tofile(out)
    with open(out + ".json", "w") as f:
        json.dump({"shape": list(a.shape)}, f)


def network(arch):
    from dynamic_network_architectures.architectures.unet import PlainConvUNet
    return PlainConvUNet(arch["input_channels"], len(arch["features_per_stage"]), arch["features_per_stage"],
                         nn.Conv3d, arch["kernel_sizes"], arch["strides"], arch["n_conv_per_stage"],
                         arch["num_classes"], arch["n_conv_per_stage_decoder"], conv_bias=True,
                         norm_op=nn.InstanceNorm3d, norm_op_kwargs={"eps": 1e-5, "affine": True},
                         nonlin=nn.LeakyReLU, nonlin_kwargs={"inplace": True}, deep_supervision=False)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--make-input", nargs=2, metavar=("IMAGE", "OUT"))
    p.add_argument("--input")
    p.add_argument("--arch")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--mirror", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    if a.make_input:
        make_input(*a.make_input)
        return
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor
    torch.set_num_threads(a.threads)
    arch = json.load(open(a.arch))
    shape = json.load(open(a.input + ".json"))["shape"]
    data = torch.from_numpy(np.fromfile(a.input, dtype=np.float32).reshape(shape))
    torch.manual_seed(0)
    pred = nnUNetPredictor(tile_step_size=0.5, use_gaussian=True, use_mirroring=bool(a.mirror),
                           perform_everything_on_device=False, device=torch.device("cpu"), verbose=False,
                           allow_tqdm=False)
    pred.network = network(arch).eval()
    pred.configuration_manager = SimpleNamespace(patch_size=arch["patch_size"])
    pred.label_manager = SimpleNamespace(num_segmentation_heads=arch["num_classes"])
    pred.allowed_mirroring_axes = (0, 1, 2)
    times = []
    for _ in range(a.repeats + 1):  # the first run warms up
        t0 = time.perf_counter()
        logits = pred.predict_sliding_window_return_logits(data)
        times.append(time.perf_counter() - t0)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"impl": "nnunetv2", "mirror": a.mirror, "threads": a.threads, "shape": shape,
                      "seconds": times[1:], "best_s": min(times[1:]), "peak_rss_mb": round(peak_mb, 1),
                      "logits_shape": list(logits.shape)}))


if __name__ == "__main__":
    main()
