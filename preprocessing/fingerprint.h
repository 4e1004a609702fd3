#pragma once
// Dataset fingerprint, nnU-Net v2 style (method section 2.3).
//
// Per case (on the image cropped to its non-zero region): spacing (array order z, y, x, mm), shape
// after crop, relative size after crop, and foreground intensity samples per channel: from the
// voxels with label > 0, `samples_per_case` values drawn with replacement by a Mersenne Twister
// seeded 1234 with numpy's legacy bounded-integer rule, so the draws equal
// numpy.random.RandomState(1234).choice(...). Samples are kept as (value, count) pairs, which keeps
// the exchange between ranks small (foreground values repeat).
//
// Dataset level per channel, from the pooled samples, in double precision: mean, median, std
// (population), min, max, percentile_00_5, percentile_99_5 (numpy's "linear" percentile).

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "preprocessing/crop.h"

namespace nnfleet::preprocessing {

struct CaseFingerprint {
  std::string id;
  std::array<double, 3> spacing{1, 1, 1};  // array order (z, y, x), mm
  Shape3 shape_after_crop{0, 0, 0};
  double relative_size_after_cropping = 1;
  std::vector<std::map<float, int64_t>> samples;  // per channel: value -> times drawn
  bool is_2d = false;

  nlohmann::json to_json() const;
  static CaseFingerprint from_json(const nlohmann::json& j);
};

struct IntensityStats {
  double mean = 0, median = 0, std = 0, min = 0, max = 0, percentile_00_5 = 0, percentile_99_5 = 0;
  nlohmann::json to_json() const;
  static IntensityStats from_json(const nlohmann::json& j);
};

struct DatasetFingerprint {
  std::vector<std::array<double, 3>> spacings;  // per case, array order
  std::vector<Shape3> shapes_after_crop;
  std::vector<IntensityStats> intensity;        // per channel
  double median_relative_size_after_cropping = 1;
  std::vector<std::string> case_ids;            // in the order of spacings (extra, not in v2)

  // v2 field names ("spacings", "shapes_after_crop",
  // "foreground_intensity_properties_per_channel" {"0": {...}}, "median_relative_size_after_cropping").
  nlohmann::json to_json() const;
  static DatasetFingerprint from_json(const nlohmann::json& j);
};

// nnU-Net's per-case sample count: floor(1e8 / number of cases).
int64_t samples_per_case(size_t num_cases);

// Fingerprint of one case from its cropped arrays (seg > 0 is foreground).
CaseFingerprint fingerprint_case(const std::string& id, const std::array<double, 3>& spacing_zyx,
                                 const CroppedCase& cropped, int64_t num_samples);

// Reduces case fingerprints (any order; sorted by id here) to the dataset fingerprint.
DatasetFingerprint reduce_fingerprints(std::vector<CaseFingerprint> cases, int channels);

// numpy.percentile(values, q) with the default linear method, for a sorted multiset given as
// (value, count) pairs in ascending value order. q in [0, 100].
double weighted_percentile(const std::vector<std::pair<double, int64_t>>& sorted, double q);

// numpy.median of plain values.
double median_of(std::vector<double> values);

}  // namespace nnfleet::preprocessing
