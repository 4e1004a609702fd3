#include "preprocessing/fingerprint.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "preprocessing/numpy_random.h"

namespace nnfleet::preprocessing {
using nlohmann::json;

namespace {

json shape_json(const Shape3& s) { return json::array({s[0], s[1], s[2]}); }

}  // namespace

int64_t samples_per_case(size_t num_cases) {
  return num_cases == 0 ? 0 : static_cast<int64_t>(std::floor(1e8 / static_cast<double>(num_cases)));
}

CaseFingerprint fingerprint_case(const std::string& id, const std::array<double, 3>& spacing_zyx,
                                 const CroppedCase& cropped, int64_t num_samples) {
  CaseFingerprint f;
  f.id = id;
  f.spacing = spacing_zyx;
  f.shape_after_crop = cropped.shape();
  f.relative_size_after_cropping = static_cast<double>(volume_of(cropped.shape())) /
                                   static_cast<double>(volume_of(cropped.shape_before));
  const int64_t n = volume_of(cropped.shape());
  std::vector<int64_t> foreground;
  for (int64_t i = 0; i < n; ++i) {
    if (cropped.seg[i] > 0) foreground.push_back(i);
  }
  // Same generator across channels, as nnU-Net draws channel after channel.
  NumpyLegacyRandom rng(1234);
  f.samples.resize(cropped.channels);
  std::vector<int64_t> times(foreground.size());
  for (int c = 0; c < cropped.channels; ++c) {
    if (foreground.empty()) continue;
    std::fill(times.begin(), times.end(), 0);
    for (int64_t k = 0; k < num_samples; ++k) ++times[rng.below(foreground.size())];
    const float* channel = cropped.data.data() + c * n;
    for (size_t i = 0; i < foreground.size(); ++i) {
      if (times[i]) f.samples[c][channel[foreground[i]]] += times[i];
    }
  }
  return f;
}

double weighted_percentile(const std::vector<std::pair<double, int64_t>>& sorted, double q) {
  int64_t total = 0;
  for (const auto& p : sorted) total += p.second;
  NNFLEET_CHECK(total > 0, "percentile of an empty sample");
  const double h = (static_cast<double>(total) - 1) * q / 100.0;
  const auto lo_rank = static_cast<int64_t>(std::floor(h));
  const double t = h - static_cast<double>(lo_rank);
  // Values at ranks lo_rank and lo_rank + 1 of the expanded sorted sample.
  double lo = sorted.back().first, hi = sorted.back().first;
  int64_t seen = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    seen += sorted[i].second;
    if (seen > lo_rank) {
      lo = sorted[i].first;
      hi = seen > lo_rank + 1 || i + 1 == sorted.size() ? lo : sorted[i + 1].first;
      break;
    }
  }
  // numpy's _lerp, which is exact at t == 1.
  return t >= 0.5 ? hi - (hi - lo) * (1 - t) : lo + (hi - lo) * t;
}

double median_of(std::vector<double> values) {
  NNFLEET_CHECK(!values.empty(), "median of nothing");
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

namespace {

IntensityStats stats_of(const std::map<float, int64_t>& pooled) {
  IntensityStats s;
  if (pooled.empty()) {
    s.mean = s.median = s.std = s.min = s.max = s.percentile_00_5 = s.percentile_99_5 = NAN;
    return s;
  }
  std::vector<std::pair<double, int64_t>> sorted(pooled.begin(), pooled.end());
  double sum = 0;
  int64_t n = 0;
  for (const auto& [v, c] : sorted) {
    sum += v * static_cast<double>(c);
    n += c;
  }
  s.mean = sum / static_cast<double>(n);
  double sq = 0;
  for (const auto& [v, c] : sorted) sq += (v - s.mean) * (v - s.mean) * static_cast<double>(c);
  s.std = std::sqrt(sq / static_cast<double>(n));
  s.min = sorted.front().first;
  s.max = sorted.back().first;
  s.median = weighted_percentile(sorted, 50);
  s.percentile_00_5 = weighted_percentile(sorted, 0.5);
  s.percentile_99_5 = weighted_percentile(sorted, 99.5);
  return s;
}

}  // namespace

DatasetFingerprint reduce_fingerprints(std::vector<CaseFingerprint> cases, int channels) {
  std::sort(cases.begin(), cases.end(),
            [](const CaseFingerprint& a, const CaseFingerprint& b) { return a.id < b.id; });
  DatasetFingerprint d;
  std::vector<double> relative;
  std::vector<std::map<float, int64_t>> pooled(channels);
  for (const auto& c : cases) {
    d.case_ids.push_back(c.id);
    d.spacings.push_back(c.spacing);
    d.shapes_after_crop.push_back(c.shape_after_crop);
    relative.push_back(c.relative_size_after_cropping);
    for (int ch = 0; ch < channels && ch < static_cast<int>(c.samples.size()); ++ch) {
      for (const auto& [v, n] : c.samples[ch]) pooled[ch][v] += n;
    }
  }
  for (int ch = 0; ch < channels; ++ch) d.intensity.push_back(stats_of(pooled[ch]));
  d.median_relative_size_after_cropping = relative.empty() ? 1.0 : median_of(relative);
  return d;
}

json CaseFingerprint::to_json() const {
  json samples_json = json::array();
  for (const auto& channel : samples) {
    json values = json::array(), counts = json::array();
    for (const auto& [v, n] : channel) {
      values.push_back(v);
      counts.push_back(n);
    }
    samples_json.push_back({values, counts});
  }
  return {{"id", id}, {"spacing", spacing}, {"shape_after_crop", shape_json(shape_after_crop)},
          {"relative_size_after_cropping", relative_size_after_cropping},
          {"samples", samples_json}, {"is_2d", is_2d}};
}

CaseFingerprint CaseFingerprint::from_json(const json& j) {
  CaseFingerprint f;
  f.id = j.at("id");
  f.spacing = j.at("spacing").get<std::array<double, 3>>();
  f.shape_after_crop = j.at("shape_after_crop").get<Shape3>();
  f.relative_size_after_cropping = j.at("relative_size_after_cropping");
  f.is_2d = j.at("is_2d");
  for (const auto& channel : j.at("samples")) {
    std::map<float, int64_t> m;
    for (size_t i = 0; i < channel[0].size(); ++i) m[channel[0][i].get<float>()] = channel[1][i];
    f.samples.push_back(std::move(m));
  }
  return f;
}

json IntensityStats::to_json() const {
  return {{"max", max}, {"mean", mean}, {"median", median}, {"min", min},
          {"percentile_00_5", percentile_00_5}, {"percentile_99_5", percentile_99_5}, {"std", std}};
}

IntensityStats IntensityStats::from_json(const json& j) {
  auto get = [&](const char* k) { return j.at(k).is_null() ? NAN : j.at(k).get<double>(); };
  IntensityStats s;
  s.max = get("max");
  s.mean = get("mean");
  s.median = get("median");
  s.min = get("min");
  s.percentile_00_5 = get("percentile_00_5");
  s.percentile_99_5 = get("percentile_99_5");
  s.std = get("std");
  return s;
}

json DatasetFingerprint::to_json() const {
  json shapes = json::array(), props = json::object();
  for (const auto& s : shapes_after_crop) shapes.push_back(shape_json(s));
  for (size_t c = 0; c < intensity.size(); ++c) props[std::to_string(c)] = intensity[c].to_json();
  return {{"spacings", spacings}, {"shapes_after_crop", shapes},
          {"foreground_intensity_properties_per_channel", props},
          {"median_relative_size_after_cropping", median_relative_size_after_cropping},
          {"case_identifiers", case_ids}};
}

DatasetFingerprint DatasetFingerprint::from_json(const json& j) {
  DatasetFingerprint d;
  d.spacings = j.at("spacings").get<std::vector<std::array<double, 3>>>();
  d.shapes_after_crop = j.at("shapes_after_crop").get<std::vector<Shape3>>();
  const json& props = j.at("foreground_intensity_properties_per_channel");
  for (size_t c = 0; c < props.size(); ++c) {
    d.intensity.push_back(IntensityStats::from_json(props.at(std::to_string(c))));
  }
  d.median_relative_size_after_cropping = j.at("median_relative_size_after_cropping");
  if (j.contains("case_identifiers")) d.case_ids = j["case_identifiers"].get<std::vector<std::string>>();
  return d;
}

}  // namespace nnfleet::preprocessing
