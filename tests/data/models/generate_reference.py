"""Generates the reference fixtures of the models/ and worker/ tests from nnunetv2 (run once, commit
the output). Usage: <venv>/bin/python tests/data/models/generate_reference.py <nnUNetPlans.json>
where the plans come from `nnUNetv2_plan_experiment` on the bundled Task04_Hippocampus.

Writes:
  tests/data/models/plainconvunet_reference.json  arch kwargs, parameter counts and parameter names
  tests/data/worker/hippocampus_splits_final.json  nnunetv2's five folds for the bundled case list
  tests/data/worker/dc_ce_loss_reference.json      DC_and_CE_loss values on formula-made inputs
"""
import json
import math
import os
import sys

import torch
from dynamic_network_architectures.architectures.unet import PlainConvUNet
from nnunetv2.utilities.crossval_split import generate_crossval_split
from nnunetv2.training.loss.compound_losses import DC_and_CE_loss
from nnunetv2.training.loss.deep_supervision import DeepSupervisionWrapper
from nnunetv2.training.loss.dice import MemoryEfficientSoftDiceLoss
from nnunetv2.utilities.get_network_from_plans import get_network_from_plans

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS_DATA = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(TESTS_DATA))


def network_entry(name, arch_kwargs, input_channels, num_classes):
    net = get_network_from_plans(
        "dynamic_network_architectures.architectures.unet.PlainConvUNet", arch_kwargs,
        ["conv_op", "norm_op", "dropout_op", "nonlin"], input_channels, num_classes,
        allow_init=True, deep_supervision=True)
    assert isinstance(net, PlainConvUNet)
    params = list(net.named_parameters())
    return {
        "name": name,
        "input_channels": input_channels,
        "num_classes": num_classes,
        "arch_kwargs": {k: arch_kwargs[k] for k in (
            "n_stages", "features_per_stage", "kernel_sizes", "strides", "n_conv_per_stage",
            "n_conv_per_stage_decoder", "conv_bias")},
        "parameter_count": sum(p.numel() for _, p in params),
        "parameters": [[n, list(p.shape)] for n, p in params],
    }


def anisotropic_kwargs():
    return {
        "n_stages": 6, "features_per_stage": [32, 64, 128, 256, 320, 320],
        "conv_op": "torch.nn.modules.conv.Conv3d",
        "kernel_sizes": [[1, 3, 3], [1, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]],
        "strides": [[1, 1, 1], [1, 2, 2], [1, 2, 2], [2, 2, 2], [2, 2, 2], [1, 2, 2]],
        "n_conv_per_stage": [2, 2, 2, 2, 2, 2], "n_conv_per_stage_decoder": [2, 2, 2, 2, 2],
        "conv_bias": True, "norm_op": "torch.nn.modules.instancenorm.InstanceNorm3d",
        "norm_op_kwargs": {"eps": 1e-05, "affine": True}, "dropout_op": None,
        "dropout_op_kwargs": None, "nonlin": "torch.nn.LeakyReLU",
        "nonlin_kwargs": {"inplace": True}}


def write_networks(plans):
    cfgs = plans["configurations"]
    entries = [
        network_entry("hippocampus_3d_fullres", cfgs["3d_fullres"]["architecture"]["arch_kwargs"], 1, 3),
        network_entry("hippocampus_2d", cfgs["2d"]["architecture"]["arch_kwargs"], 1, 3),
        network_entry("anisotropic_3d", anisotropic_kwargs(), 2, 4),
    ]
    with open(os.path.join(HERE, "plainconvunet_reference.json"), "w") as f:
        json.dump({"generator": "tests/data/models/generate_reference.py",
                   "networks": entries}, f, indent=1)


def write_splits():
    images = os.path.join(REPO, "data", "Task04_Hippocampus", "imagesTr")
    cases = sorted(n[:-len(".nii.gz")] for n in os.listdir(images)
                   if n.endswith(".nii.gz") and not n.startswith("."))
    splits = generate_crossval_split(cases, seed=12345, n_splits=5)
    with open(os.path.join(TESTS_DATA, "worker", "hippocampus_splits_final.json"), "w") as f:
        json.dump({"cases": cases, "splits": splits}, f, indent=1)


def formula_tensor(shape, scale, step):
    n = math.prod(shape)
    return torch.tensor([scale * math.sin(step * i) for i in range(n)],
                        dtype=torch.float64).reshape(shape)


def formula_target(shape, classes):
    n = math.prod(shape)
    return torch.tensor([float((i * 7 + i // 5) % classes) for i in range(n)],
                        dtype=torch.float64).reshape(shape)


def loss_cases():
    # Logits [2, 3, 4, 4] = 2 sin(0.37 i); target [2, 1, 4, 4] = ((7i + i // 5) mod 3).
    logits = formula_tensor((2, 3, 4, 4), 2.0, 0.37)
    target = formula_target((2, 1, 4, 4), 3)
    out = []
    for batch_dice in (False, True):
        loss = DC_and_CE_loss({"batch_dice": batch_dice, "smooth": 1e-5, "do_bg": False, "ddp": False},
                              {}, weight_ce=1, weight_dice=1, ignore_label=None,
                              dice_class=MemoryEfficientSoftDiceLoss)
        dice = MemoryEfficientSoftDiceLoss(apply_nonlin=lambda x: torch.softmax(x, 1),
                                           batch_dice=batch_dice, do_bg=False, smooth=1e-5,
                                           ddp=False)
        ce = torch.nn.CrossEntropyLoss()
        out.append({"batch_dice": batch_dice, "loss": loss(logits, target).item(),
                    "dice_loss": dice(logits, target).item(),
                    "ce_loss": ce(logits, target[:, 0].long()).item()})
    # Deep supervision: scales 1 and 1/2 (nearest) and 1/4, weights 1, 1/2, 0 normalised.
    loss = DC_and_CE_loss({"batch_dice": False, "smooth": 1e-5, "do_bg": False, "ddp": False}, {},
                          weight_ce=1, weight_dice=1, ignore_label=None,
                          dice_class=MemoryEfficientSoftDiceLoss)
    weights = [1.0, 0.5, 0.0]
    weights = [w / sum(weights) for w in weights]
    ds = DeepSupervisionWrapper(loss, weights)
    outputs = [logits, logits[:, :, ::2, ::2].contiguous(), logits[:, :, ::4, ::4].contiguous()]
    targets = [target, target[:, :, ::2, ::2].contiguous(), target[:, :, ::4, ::4].contiguous()]
    ds_value = ds(outputs, targets).item()
    return {"logits": "2*sin(0.37*i), shape [2,3,4,4]",
            "target": "(7*i + i//5) % 3, shape [2,1,4,4]",
            "cases": out,
            "deep_supervision": {"weights": weights, "strided_views": [1, 2, 4], "loss": ds_value}}


def main():
    with open(sys.argv[1]) as f:
        plans = json.load(f)
    torch.manual_seed(0)
    write_networks(plans)
    write_splits()
    with open(os.path.join(TESTS_DATA, "worker", "dc_ce_loss_reference.json"), "w") as f:
        json.dump(loss_cases(), f, indent=1)


if __name__ == "__main__":
    main()
