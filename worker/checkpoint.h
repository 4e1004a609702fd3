#pragma once
// Training checkpoints (checkpoint_{latest,best,final}.pt, docs/formats.md): one LibTorch archive
// holding
//   model/<name>      every parameter and buffer, under nnunetv2's state_dict names
//   optimizer         the SGD state (momentum buffers), as torch::optim::SGD::save writes it
//   scaler/{scale,growth_tracker}, rng/cpu   the grad scaler and the global CPU generator
//   meta              a JSON string: format, configuration, plan hash, trainer state
// Files are written to a temporary name and renamed (common/atomic_file.h), so a killed job never
// leaves a half-written checkpoint under the final name.
//
// A checkpoint belongs to one (plan, configuration): loading it for another throws
// nnfleet::Error naming both, before any tensor is touched.

#include <torch/optim/sgd.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "models/unet.h"
#include "worker/amp.h"

namespace nnfleet::worker {

struct CheckpointMeta {
  int format_version = 1;
  std::string configuration;
  std::string plan_hash;     // plan_hash() of the plans the network was built from
  nlohmann::json training;   // the trainer's own state (epoch, history, ...); opaque here
};

// A stable hash (FNV-1a 64, hex) of configurations.<configuration> of `plans`, with inherited
// fields resolved as the network sees them (the architecture, patch size, batch size ...).
std::string plan_hash(const nlohmann::json& plans, const std::string& configuration);

// Writes atomically. `optimizer` and `scaler` may be null (weights-only checkpoint).
void save_checkpoint(const std::filesystem::path& file, const CheckpointMeta& meta,
                     models::UNetImpl& network, torch::optim::SGD* optimizer,
                     const GradScaler* scaler);

// The meta record only (cheap: does not read the tensors' payload into the network).
CheckpointMeta read_checkpoint_meta(const std::filesystem::path& file);

// Throws nnfleet::Error when `meta` was written for another configuration or plan.
void check_checkpoint_matches(const CheckpointMeta& meta, const std::string& configuration,
                              const std::string& expected_plan_hash,
                              const std::filesystem::path& file);

// Restores the network (and, when given, the optimiser, the scaler and the CPU generator) from
// `file`, mapping tensors to the network's device. Checks configuration and plan hash first; a
// missing or differently shaped parameter is an nnfleet::Error naming it.
CheckpointMeta load_checkpoint(const std::filesystem::path& file,
                               const std::string& configuration,
                               const std::string& expected_plan_hash, models::UNetImpl& network,
                               torch::optim::SGD* optimizer, GradScaler* scaler);

// Weights only, for prediction: the same checks on names and shapes, no plan check.
CheckpointMeta load_network_weights(const std::filesystem::path& file, models::UNetImpl& network);

}  // namespace nnfleet::worker
