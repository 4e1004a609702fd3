#include "worker/predictor.h"

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <optional>

#include "common/error.h"
#include "common/log.h"
#include "models/unet.h"
#include "worker/sliding_window.h"

namespace nnfleet::worker {
namespace {

using torch::indexing::Slice;

std::string sizes_text(c10::IntArrayRef sizes) {
  std::string s = "(";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + ")";
}

// fp16 autocast for CUDA within a scope; nothing elsewhere (nnU-Net disables it on CPU).
class AutocastScope {
 public:
  explicit AutocastScope(bool on) : on_(on) {
    if (!on_) return;
    previous_ = at::autocast::is_autocast_enabled(at::kCUDA);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!on_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(at::kCUDA, previous_);
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool on_ = false;
  bool previous_ = false;
};

void check_inputs(const torch::Tensor& data, const PredictorOptions& o) {
  const auto p = o.patch_size.size();
  if (data.dim() != 4)
    throw Error("[predict] case data must be [C, Z, Y, X], got shape " + sizes_text(data.sizes()));
  if (p != 2 && p != 3)
    throw Error("[predict] patch size must have 2 or 3 axes, got " + std::to_string(p));
  for (int a : o.mirror_axes)
    if (a < 0 || a >= static_cast<int>(p))
      throw Error("[predict] mirror axis " + std::to_string(a) + " is not a spatial axis of the " +
                  std::to_string(p) + "D patch");
}

// Every non-empty combination of the mirror axes (as tensor dims: spatial axis + 2), in
// itertools.combinations order.
std::vector<std::vector<int64_t>> mirror_combinations(const std::vector<int>& axes) {
  std::vector<std::vector<int64_t>> out;
  const size_t n = axes.size();
  for (size_t size = 1; size <= n; ++size) {
    std::vector<bool> pick(n, false);
    std::fill(pick.begin(), pick.begin() + static_cast<long>(size), true);
    do {
      std::vector<int64_t> dims;
      for (size_t i = 0; i < n; ++i)
        if (pick[i]) dims.push_back(axes[i] + 2);
      out.push_back(dims);
    } while (std::prev_permutation(pick.begin(), pick.end()));
  }
  return out;
}

// The padded case on `where`: [C, *padded spatial]; 2D patches pad only (Y, X).
torch::Tensor pad_case(const torch::Tensor& data, const std::vector<int64_t>& patch,
                       TilePadding& padding) {
  const int64_t first = 4 - static_cast<int64_t>(patch.size());
  std::vector<int64_t> window(data.sizes().begin() + first, data.sizes().end());
  padding = padding_for_tile(window, patch);
  if (!padding.needed()) return data;
  std::vector<int64_t> pads;  // constant_pad_nd takes the last axis first
  for (size_t a = patch.size(); a-- > 0;) {
    pads.push_back(padding.before[a]);
    pads.push_back(padding.padded_shape[a] - window[a] - padding.before[a]);
  }
  return torch::constant_pad_nd(data, pads, 0.0);
}

// Tile boxes over the padded volume: per tile the (lo) corner in [Z, Y, X] (2D: slice index,
// then y, x).
std::vector<std::array<int64_t, 3>> tile_corners(const torch::Tensor& padded, const PredictorOptions& o) {
  const bool two_d = o.patch_size.size() == 2;
  std::vector<int64_t> window(padded.sizes().begin() + (two_d ? 2 : 1), padded.sizes().end());
  const auto steps = sliding_window_steps(window, o.patch_size, o.step_size);
  std::vector<std::array<int64_t, 3>> corners;
  if (two_d) {
    for (int64_t d = 0; d < padded.size(1); ++d)
      for (int64_t y : steps[0])
        for (int64_t x : steps[1]) corners.push_back({d, y, x});
  } else {
    for (int64_t z : steps[0])
      for (int64_t y : steps[1])
        for (int64_t x : steps[2]) corners.push_back({z, y, x});
  }
  return corners;
}

// Index of one tile in a [*, Z, Y, X] tensor (leading dims kept).
std::vector<at::indexing::TensorIndex> tile_index(const std::array<int64_t, 3>& c,
                                                  const std::vector<int64_t>& patch, bool leading) {
  std::vector<at::indexing::TensorIndex> idx;
  if (leading) idx.emplace_back(Slice());
  if (patch.size() == 2) {
    idx.emplace_back(c[0]);
    idx.emplace_back(Slice(c[1], c[1] + patch[0]));
    idx.emplace_back(Slice(c[2], c[2] + patch[1]));
  } else {
    for (size_t a = 0; a < 3; ++a) idx.emplace_back(Slice(c[a], c[a] + patch[a]));
  }
  return idx;
}

torch::Tensor accumulate_tiles(const NetworkFn& network, const torch::Tensor& padded,
                               const PredictorOptions& o, torch::Device results_device) {
  const torch::Tensor data = padded.to(results_device);
  const torch::Tensor gaussian =
      o.use_gaussian ? importance_map(o.patch_size, results_device)
                     : torch::ones(o.patch_size, torch::TensorOptions().device(results_device));
  torch::Tensor logits;  // allocated once K is known
  torch::Tensor weights = torch::zeros(data.sizes().slice(1), torch::TensorOptions().device(results_device));

  for (const auto& corner : tile_corners(data, o)) {
    const auto in_idx = tile_index(corner, o.patch_size, true);
    torch::Tensor tile = data.index(in_idx).unsqueeze(0).contiguous().to(o.device);
    torch::Tensor pred = mirrored_prediction(network, tile, o)[0].to(results_device);
    if (!logits.defined()) {
      std::vector<int64_t> shape{pred.size(0)};
      for (int64_t s : data.sizes().slice(1)) shape.push_back(s);
      logits = torch::zeros(shape, torch::TensorOptions().device(results_device));
    }
    logits.index(in_idx).add_(pred.mul_(gaussian));
    weights.index(tile_index(corner, o.patch_size, false)).add_(gaussian);
  }
  logits.div_(weights);
  return logits;
}

}  // namespace

torch::Tensor importance_map(const std::vector<int64_t>& patch_size, torch::Device device) {
  const std::vector<double> map = gaussian_importance_map(patch_size);
  std::vector<float> values(map.begin(), map.end());
  replace_zeros_by_min(values);
  return torch::from_blob(values.data(), patch_size, torch::kFloat32).clone().to(device);
}

torch::Tensor mirrored_prediction(const NetworkFn& network, const torch::Tensor& x,
                                  const PredictorOptions& o) {
  AutocastScope autocast(o.amp && o.device.is_cuda());
  // A copy, so that accumulating never writes into a tensor the network still owns.
  torch::Tensor sum = network(x).to(torch::kFloat32, /*non_blocking=*/false, /*copy=*/true);
  if (!o.mirror || o.mirror_axes.empty()) return sum;
  const auto combinations = mirror_combinations(o.mirror_axes);
  for (const auto& dims : combinations)
    sum.add_(torch::flip(network(torch::flip(x, dims)), dims).to(torch::kFloat32));
  return sum.div_(static_cast<double>(combinations.size() + 1));
}

torch::Tensor sliding_window_logits(const NetworkFn& network, const torch::Tensor& data,
                                    const PredictorOptions& o) {
  check_inputs(data, o);
  torch::InferenceMode guard;
  TilePadding padding;
  const torch::Tensor padded = pad_case(data.to(torch::kFloat32), o.patch_size, padding);

  torch::Tensor logits;
  const bool on_device = o.accumulate_on_device && !o.device.is_cpu();
  try {
    logits = accumulate_tiles(network, padded, o, on_device ? o.device : torch::Device(torch::kCPU));
  } catch (const c10::OutOfMemoryError&) {
    if (!on_device) throw;
    spdlog::warn("[predict] accumulation on {} ran out of memory; retrying with CPU accumulation",
                 o.device.str());
    logits = accumulate_tiles(network, padded, o, torch::kCPU);
  }

  // Crop the padding away (2D patches pad only the last two axes).
  if (!padding.needed()) return logits;
  const size_t first = 4 - o.patch_size.size();
  std::vector<at::indexing::TensorIndex> idx(first, Slice());
  for (size_t a = 0; a < o.patch_size.size(); ++a)
    idx.emplace_back(Slice(padding.before[a], padding.before[a] + padding.image_shape[a]));
  return logits.index(idx);
}

torch::Tensor predict_logits_with(const std::vector<NetworkFn>& networks, const torch::Tensor& data,
                                  const PredictorOptions& options) {
  if (networks.empty()) throw Error("[predict] no network (fold) to predict with");
  torch::InferenceMode guard;
  torch::Tensor sum;
  for (const NetworkFn& network : networks) {
    torch::Tensor logits = sliding_window_logits(network, data, options);
    sum = sum.defined() ? sum.add_(logits.to(sum.device())) : logits;
  }
  if (networks.size() > 1) sum.div_(static_cast<double>(networks.size()));
  return sum.to(torch::kCPU).contiguous();
}

torch::Tensor predict_logits(std::vector<models::UNet>& networks, const torch::Tensor& data,
                             const PredictorOptions& options) {
  std::vector<NetworkFn> fns;
  for (models::UNet& net : networks) {
    net->eval();
    net->set_deep_supervision(false);
    net->to(options.device);
    fns.push_back([net](const torch::Tensor& x) mutable { return net->forward(x)[0]; });
  }
  return predict_logits_with(fns, data, options);
}

PredictorOptions predictor_options_from_plans(const nlohmann::json& plans, const std::string& configuration) {
  std::string name = configuration;
  const nlohmann::json* patch = nullptr;
  for (int depth = 0; depth < 8 && patch == nullptr; ++depth) {
    if (!plans.contains("configurations") || !plans["configurations"].contains(name))
      throw Error("[predict] plans have no configuration '" + name + "'");
    const auto& c = plans["configurations"][name];
    if (c.contains("patch_size")) patch = &c["patch_size"];
    else if (c.contains("inherits_from")) name = c["inherits_from"].get<std::string>();
    else break;
  }
  if (patch == nullptr) throw Error("[predict] plans: configuration '" + configuration + "' has no patch_size");
  PredictorOptions o;
  o.patch_size = patch->get<std::vector<int64_t>>();
  for (int a = 0; a < static_cast<int>(o.patch_size.size()); ++a) o.mirror_axes.push_back(a);
  return o;
}

std::vector<float> tensor_values(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU, torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace nnfleet::worker
