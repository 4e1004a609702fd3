#!/usr/bin/env python3
"""Renders one slice of an image with its predicted segmentation (filled) and, optionally, the
reference label (outlined) to a PNG. The slice is the one with the most reference foreground
(or predicted foreground when no reference is given), cut along the image's third axis."""
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import SimpleITK as sitk  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--image", required=True)
    ap.add_argument("--prediction", required=True)
    ap.add_argument("--label", help="reference segmentation to outline")
    ap.add_argument("--output", required=True)
    ap.add_argument("--axis", type=int, default=0, help="array axis to slice (0 = z)")
    args = ap.parse_args()

    image = sitk.GetArrayFromImage(sitk.ReadImage(args.image)).astype(np.float32)
    if image.ndim == 4:
        image = image[0]
    pred = sitk.GetArrayFromImage(sitk.ReadImage(args.prediction))
    ref = sitk.GetArrayFromImage(sitk.ReadImage(args.label)) if args.label else None
    if pred.shape != image.shape:
        raise SystemExit(f"prediction shape {pred.shape} differs from image shape {image.shape}")

    weight = ref if ref is not None else pred
    other = tuple(a for a in range(3) if a != args.axis)
    index = int(np.argmax((weight > 0).sum(axis=other)))
    take = lambda a: np.take(a, index, axis=args.axis)  # noqa: E731

    fig, axes = plt.subplots(1, 2, figsize=(8, 4.4))
    lo, hi = np.percentile(image, [0.5, 99.5])
    for ax, title in zip(axes, ("image", "prediction (fill) / reference (outline)")):
        ax.imshow(take(image), cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    p = np.ma.masked_equal(take(pred), 0)
    axes[1].imshow(p, cmap="autumn", alpha=0.45, interpolation="nearest", vmin=1, vmax=max(2, pred.max()))
    if ref is not None:
        for value, color in zip(sorted(set(np.unique(take(ref))) - {0}), ("cyan", "lime", "magenta", "yellow")):
            axes[1].contour(take(ref) == value, levels=[0.5], colors=color, linewidths=0.8)
    fig.suptitle(f"{args.prediction.split('/')[-1]}  slice {index} of axis {args.axis}", fontsize=9)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)


if __name__ == "__main__":
    main()
