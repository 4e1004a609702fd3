"""nnunetv2's side of bench_train_iter.sh: time per training iteration of nnU-Net v2's training
step (PlainConvUNet with deep supervision, DC_and_CE_loss in DeepSupervisionWrapper with v2's
weights, SGD Nesterov 0.99 / wd 3e-5, clip 12) on one random batch, in PyTorch eager on the CPU,
or on a GPU with --device cuda (scripts/gpu-check.sh), optionally with nnU-Net's mixed precision
(--amp 1: fp16 autocast around forward and loss, GradScaler, unscale before clipping) and
cudnn.benchmark (nnU-Net turns it on). Data loading is left out, as in `nnfleet bench-train-step`.
Prints one JSON line (on CUDA with the peak memory torch.cuda allocated and reserved)."""
import argparse
import json
import time

import numpy as np
import torch
from torch import nn


def network(arch):
    from dynamic_network_architectures.architectures.unet import PlainConvUNet
    from dynamic_network_architectures.initialization.weight_init import InitWeights_He
    dims = len(arch["patch_size"])
    conv, norm = (nn.Conv3d, nn.InstanceNorm3d) if dims == 3 else (nn.Conv2d, nn.InstanceNorm2d)
    net = PlainConvUNet(arch["input_channels"], len(arch["features_per_stage"]), arch["features_per_stage"],
                        conv, arch["kernel_sizes"], arch["strides"], arch["n_conv_per_stage"],
                        arch["num_classes"], arch["n_conv_per_stage_decoder"], conv_bias=True,
                        norm_op=norm, norm_op_kwargs={"eps": 1e-5, "affine": True},
                        nonlin=nn.LeakyReLU, nonlin_kwargs={"inplace": True}, deep_supervision=True)
    net.apply(InitWeights_He(1e-2))
    return net


def loss_fn(n_outputs, batch_dice):
    from nnunetv2.training.loss.compound_losses import DC_and_CE_loss
    from nnunetv2.training.loss.deep_supervision import DeepSupervisionWrapper
    from nnunetv2.training.loss.dice import MemoryEfficientSoftDiceLoss
    loss = DC_and_CE_loss({"batch_dice": batch_dice, "smooth": 1e-5, "do_bg": False, "ddp": False}, {},
                          weight_ce=1, weight_dice=1, ignore_label=None,
                          dice_class=MemoryEfficientSoftDiceLoss)
    weights = np.array([1 / (2 ** i) for i in range(n_outputs)])
    weights[-1] = 0
    return DeepSupervisionWrapper(loss, weights / weights.sum())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--batch-dice", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--amp", type=int, default=0, help="fp16 autocast + GradScaler (CUDA only)")
    p.add_argument("--cudnn-benchmark", type=int, default=1, help="torch.backends.cudnn.benchmark")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    amp = bool(a.amp) and device.type == "cuda"
    torch.backends.cudnn.benchmark = bool(a.cudnn_benchmark)
    arch = json.load(open(a.arch))
    torch.manual_seed(0)
    net = network(arch).to(device)
    n_out = len(arch["features_per_stage"]) - 1
    loss = loss_fn(n_out, bool(a.batch_dice))
    opt = torch.optim.SGD(net.parameters(), 1e-2, weight_decay=3e-5, momentum=0.99, nesterov=True)
    patch = arch["patch_size"]
    data = torch.randn(a.batch, arch["input_channels"], *patch, device=device)
    scales = 1 / np.cumprod(np.vstack(arch["strides"]), axis=0)[:n_out]
    targets = [torch.randint(0, arch["num_classes"], (a.batch, 1, *[int(round(p_ * s)) for p_, s in zip(patch, sc)]),
                             device=device).float() for sc in scales]
    scaler = torch.amp.GradScaler("cuda") if amp else None
    net.train()
    seconds = []
    for i in range(a.warmup + a.iterations):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, enabled=amp):
            output = net(data)
            l = loss(output, targets)
        if scaler is None:
            l.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 12)
            opt.step()
        else:  # nnUNetTrainer.train_step with a grad scaler
            scaler.scale(l).backward()
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(net.parameters(), 12)
            scaler.step(opt)
            scaler.update()
        l.detach().cpu().numpy()
        if i >= a.warmup:
            seconds.append(time.perf_counter() - t0)
    s = sorted(seconds)
    result = {"impl": "nnunetv2", "threads": a.threads, "batch": a.batch, "patch": patch,
              "torch": torch.__version__, "device": str(device), "amp": amp,
              "seconds": seconds, "median_s": s[len(s) // 2], "best_s": s[0]}
    if device.type == "cuda":
        result.update(cudnn_benchmark=torch.backends.cudnn.benchmark,
                      gpu=torch.cuda.get_device_name(device),
                      max_allocated_mb=round(torch.cuda.max_memory_allocated(device) / 2**20, 1),
                      max_reserved_mb=round(torch.cuda.max_memory_reserved(device) / 2**20, 1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
