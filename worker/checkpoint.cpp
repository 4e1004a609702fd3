#include "worker/checkpoint.h"

#include <ATen/core/ivalue.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <cstdio>

#include "common/atomic_file.h"
#include "common/error.h"

namespace nnfleet::worker {
namespace {

constexpr int kFormatVersion = 1;

nlohmann::json resolved_configuration(const nlohmann::json& plans, const std::string& name,
                                      int depth = 0) {
  const auto& configs = plans.at("configurations");
  if (!configs.contains(name) || depth > 8)
    throw Error("[checkpoint] plans have no configuration '" + name + "'");
  nlohmann::json merged = nlohmann::json::object();
  const auto& own = configs.at(name);
  if (own.contains("inherits_from"))
    merged = resolved_configuration(plans, own.at("inherits_from").get<std::string>(), depth + 1);
  for (const auto& [key, value] : own.items())
    if (key != "inherits_from") merged[key] = value;
  return merged;
}

std::string fnv1a_hex(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char out[17];
  std::snprintf(out, sizeof(out), "%016llx", static_cast<unsigned long long>(h));
  return out;
}

std::string meta_json(const CheckpointMeta& meta) {
  return nlohmann::json{{"format_version", kFormatVersion},
                        {"configuration", meta.configuration},
                        {"plan_hash", meta.plan_hash},
                        {"training", meta.training}}
      .dump();
}

CheckpointMeta parse_meta(const std::string& text, const std::filesystem::path& file) {
  try {
    const auto doc = nlohmann::json::parse(text);
    CheckpointMeta meta;
    meta.format_version = doc.at("format_version").get<int>();
    meta.configuration = doc.at("configuration").get<std::string>();
    meta.plan_hash = doc.at("plan_hash").get<std::string>();
    meta.training = doc.value("training", nlohmann::json::object());
    return meta;
  } catch (const nlohmann::json::exception& e) {
    throw Error("[checkpoint] " + file.string() + ": unreadable meta record (" + e.what() + ")");
  }
}

torch::serialize::InputArchive open_archive(const std::filesystem::path& file,
                                            c10::optional<torch::Device> device = c10::nullopt) {
  if (!std::filesystem::exists(file)) throw Error("[checkpoint] no checkpoint at " + file.string());
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(file.string(), device);
  } catch (const c10::Error& e) {
    throw Error("[checkpoint] " + file.string() + " is not a readable checkpoint (" +
                e.what_without_backtrace() + ")");
  }
  return archive;
}

CheckpointMeta meta_of(torch::serialize::InputArchive& archive, const std::filesystem::path& file) {
  c10::IValue value;
  if (!archive.try_read("meta", value) || !value.isString())
    throw Error("[checkpoint] " + file.string() + " has no meta record (not an nnfleet checkpoint)");
  return parse_meta(value.toStringRef(), file);
}

void write_network(torch::serialize::OutputArchive& archive, models::UNetImpl& network) {
  torch::serialize::OutputArchive weights;
  for (const auto& p : network.named_parameters()) weights.write(p.key(), p.value().detach());
  for (const auto& b : network.named_buffers()) weights.write(b.key(), b.value(), true);
  archive.write("model", weights);
}

void read_network(torch::serialize::InputArchive& archive, models::UNetImpl& network,
                  const std::filesystem::path& file) {
  torch::serialize::InputArchive weights;
  if (!archive.try_read("model", weights))
    throw Error("[checkpoint] " + file.string() + " has no network weights");
  torch::NoGradGuard no_grad;
  auto restore = [&](const std::string& name, torch::Tensor& into, bool is_buffer) {
    torch::Tensor stored;
    if (!weights.try_read(name, stored, is_buffer))
      throw Error("[checkpoint] " + file.string() + " lacks parameter '" + name +
                  "' (a checkpoint of another network?)");
    if (stored.sizes() != into.sizes())
      throw Error("[checkpoint] " + file.string() + ": parameter '" + name + "' has shape " +
                  c10::str(stored.sizes()) + ", the network expects " + c10::str(into.sizes()));
    into.copy_(stored);
  };
  for (auto& p : network.named_parameters()) restore(p.key(), p.value(), false);
  for (auto& b : network.named_buffers()) restore(b.key(), b.value(), true);
}

void write_state(torch::serialize::OutputArchive& archive, torch::optim::SGD* optimizer,
                 const GradScaler* scaler) {
  if (optimizer) {
    torch::serialize::OutputArchive opt;
    optimizer->save(opt);
    archive.write("optimizer", opt);
  }
  if (scaler) {
    const auto state = scaler->state();
    archive.write("scaler/scale", state[0]);
    archive.write("scaler/growth_tracker", state[1]);
  }
  archive.write("rng/cpu", at::detail::getDefaultCPUGenerator().get_state());
}

void read_state(torch::serialize::InputArchive& archive, torch::optim::SGD* optimizer,
                GradScaler* scaler, const std::filesystem::path& file) {
  if (optimizer) {
    torch::serialize::InputArchive opt;
    if (!archive.try_read("optimizer", opt))
      throw Error("[checkpoint] " + file.string() + " has no optimiser state (weights only)");
    optimizer->load(opt);
  }
  torch::Tensor scale, growth, rng;
  if (scaler && archive.try_read("scaler/scale", scale) &&
      archive.try_read("scaler/growth_tracker", growth))
    scaler->load_state({scale, growth});
  if (archive.try_read("rng/cpu", rng)) {
    at::Generator generator = at::detail::getDefaultCPUGenerator();  // shares the global state
    generator.set_state(rng.to(torch::kCPU));
  }
}

}  // namespace

std::string plan_hash(const nlohmann::json& plans, const std::string& configuration) {
  return fnv1a_hex(resolved_configuration(plans, configuration).dump());
}

void save_checkpoint(const std::filesystem::path& file, const CheckpointMeta& meta,
                     models::UNetImpl& network, torch::optim::SGD* optimizer,
                     const GradScaler* scaler) {
  torch::serialize::OutputArchive archive;
  archive.write("meta", c10::IValue(meta_json(meta)));
  write_network(archive, network);
  write_state(archive, optimizer, scaler);
  write_atomically(file, [&](const std::filesystem::path& tmp) { archive.save_to(tmp.string()); });
}

CheckpointMeta read_checkpoint_meta(const std::filesystem::path& file) {
  auto archive = open_archive(file, torch::Device(torch::kCPU));
  return meta_of(archive, file);
}

void check_checkpoint_matches(const CheckpointMeta& meta, const std::string& configuration,
                              const std::string& expected_plan_hash,
                              const std::filesystem::path& file) {
  if (meta.configuration != configuration)
    throw Error("[checkpoint] " + file.string() + " was trained for configuration '" +
                meta.configuration + "', not '" + configuration +
                "'; remove it or train without --continue");
  if (meta.plan_hash != expected_plan_hash)
    throw Error("[checkpoint] " + file.string() + " was trained with another plan (plan hash " +
                meta.plan_hash + ", the current plans give " + expected_plan_hash +
                "); the plans changed since: remove the checkpoint or train without --continue");
}

CheckpointMeta load_checkpoint(const std::filesystem::path& file,
                               const std::string& configuration,
                               const std::string& expected_plan_hash, models::UNetImpl& network,
                               torch::optim::SGD* optimizer, GradScaler* scaler) {
  const auto params = network.parameters();
  const torch::Device device = params.empty() ? torch::Device(torch::kCPU) : params[0].device();
  auto archive = open_archive(file, device);
  CheckpointMeta meta = meta_of(archive, file);
  check_checkpoint_matches(meta, configuration, expected_plan_hash, file);
  read_network(archive, network, file);
  read_state(archive, optimizer, scaler, file);
  return meta;
}

CheckpointMeta load_network_weights(const std::filesystem::path& file, models::UNetImpl& network) {
  const auto params = network.parameters();
  const torch::Device device = params.empty() ? torch::Device(torch::kCPU) : params[0].device();
  auto archive = open_archive(file, device);
  CheckpointMeta meta = meta_of(archive, file);
  read_network(archive, network, file);
  return meta;
}

}  // namespace nnfleet::worker
