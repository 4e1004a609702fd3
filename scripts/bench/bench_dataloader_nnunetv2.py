"""The nnunetv2 side of scripts/bench/bench_dataloader.sh: augmented training batches per second
of nnunetv2's own data loader (nnUNetDataLoader + nnUNetTrainer.get_training_transforms, run by
NonDetMultiThreadedAugmenter with N worker processes, as nnUNetTrainer.get_dataloaders does) on a
dataset preprocessed by nnunetv2, with the patch and batch size given on the command line.
Prints one JSON line: batches_per_s and peak resident memory of the main process plus workers.

  --prepare RAW_MSD_TASK_DIR WORKDIR   convert + plan + preprocess 3d_fullres with nnunetv2 once
  --preprocessed DIR --patch z y x --batch B --workers N --batches K
"""
import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time


def vm_hwm_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def prepare(raw_task, work):
    """MSD task folder -> nnunetv2 raw -> nnunetv2 preprocessed 3d_fullres (cached in WORK)."""
    raw, pre = os.path.join(work, "nnUNet_raw"), os.path.join(work, "nnUNet_preprocessed")
    env = dict(os.environ, nnUNet_raw=raw, nnUNet_preprocessed=pre,
               nnUNet_results=os.path.join(work, "nnUNet_results"))
    target = os.path.join(pre, "Dataset004_Hippocampus", "nnUNetPlans_3d_fullres")
    if os.path.isdir(target) and os.listdir(target):
        return
    # The converter wants imagesTs; the bundled copy has none: link the rest into a shadow folder.
    shadow = os.path.join(work, "msd_shadow", os.path.basename(os.path.normpath(raw_task)))
    os.makedirs(os.path.join(shadow, "imagesTs"), exist_ok=True)
    for name in ("imagesTr", "labelsTr", "dataset.json"):
        link = os.path.join(shadow, name)
        if not os.path.exists(link):
            os.symlink(os.path.abspath(os.path.join(raw_task, name)), link)
    os.makedirs(raw, exist_ok=True)
    bindir = os.path.dirname(sys.executable)
    if not os.path.isdir(os.path.join(raw, "Dataset004_Hippocampus")):
        subprocess.run([os.path.join(bindir, "nnUNetv2_convert_MSD_dataset"), "-i", shadow],
                       check=True, env=env)
    subprocess.run([os.path.join(bindir, "nnUNetv2_plan_and_preprocess"), "-d", "4", "-c",
                    "3d_fullres", "-np", "2", "-npfp", "2"], check=True, env=env)


def make_loader(args):
    import numpy as np
    from batchgenerators.dataloading.nondet_multi_threaded_augmenter import \
        NonDetMultiThreadedAugmenter
    from batchgenerators.utilities.file_and_folder_operations import load_json
    from nnunetv2.training.data_augmentation.compute_initial_patch_size import get_patch_size
    from nnunetv2.training.dataloading.data_loader import nnUNetDataLoader
    from nnunetv2.training.dataloading.nnunet_dataset import infer_dataset_class
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    dataset_dir = args.preprocessed
    plans = PlansManager(load_json(os.path.join(dataset_dir, "nnUNetPlans.json")))
    config = plans.get_configuration("3d_fullres")
    label_manager = plans.get_label_manager(load_json(os.path.join(dataset_dir, "dataset.json")))
    patch = tuple(args.patch)
    # nnUNetTrainer.configure_rotation_dummyDA_mirroring_and_inital_patch_size, 3D branch
    dummy_2d = max(patch) / patch[0] > 3
    rot = (180 if dummy_2d else 30) / 360 * 2 * np.pi
    initial = get_patch_size(patch, (-rot, rot), (-rot, rot), (-rot, rot), (0.85, 1.25))
    if dummy_2d:
        initial[0] = patch[0]
    strides = config.pool_op_kernel_sizes
    ds_scales = list(list(i) for i in 1 / np.cumprod(np.vstack(strides), axis=0))[:-1]
    transforms = nnUNetTrainer.get_training_transforms(
        patch, (-rot, rot), ds_scales, (0, 1, 2), dummy_2d,
        use_mask_for_norm=config.use_mask_for_norm, is_cascaded=False,
        foreground_labels=label_manager.foreground_labels, regions=None, ignore_label=None)
    folder = os.path.join(dataset_dir, config.data_identifier)
    dataset_class = infer_dataset_class(folder)
    dataset = dataset_class(folder, None)
    loader = nnUNetDataLoader(dataset, args.batch, initial, patch, label_manager,
                              oversample_foreground_percent=0.33, transforms=transforms)
    augmenter = NonDetMultiThreadedAugmenter(loader, None, args.workers,
                                             max(6, args.workers // 2), None, pin_memory=False,
                                             wait_time=0.002)
    return augmenter, [int(i) for i in initial]


def bench(args):
    import torch
    torch.set_num_threads(1)
    augmenter, initial = make_loader(args)
    for _ in range(args.warmup):
        next(augmenter)
    t0 = time.perf_counter()
    for _ in range(args.batches):
        next(augmenter)
    seconds = time.perf_counter() - t0
    peak = vm_hwm_mb(os.getpid()) + sum(vm_hwm_mb(p.pid) for p in multiprocessing.active_children())
    augmenter._finish()
    print(json.dumps({"impl": "nnunetv2", "workers": args.workers, "batch": args.batch,
                      "patch": list(args.patch), "initial_patch": initial,
                      "batches": args.batches, "seconds": seconds,
                      "batches_per_s": args.batches / seconds, "peak_rss_mb": peak,
                      "torch": torch.__version__}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--prepare", nargs=2, metavar=("RAW_MSD_TASK_DIR", "WORKDIR"))
    p.add_argument("--preprocessed")
    p.add_argument("--patch", nargs="+", type=int)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--batches", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    args = p.parse_args()
    if args.prepare:
        prepare(*args.prepare)
    else:
        bench(args)


if __name__ == "__main__":
    main()
