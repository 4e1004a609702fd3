#include "preprocessing/validate.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace nnfleet::preprocessing {
namespace fs = std::filesystem;

namespace {

std::string fmt3(const std::array<double, 3>& v) {
  std::ostringstream s;
  s << "(" << v[0] << ", " << v[1] << ", " << v[2] << ")";
  return s.str();
}

std::string fmt3(const std::array<int64_t, 3>& v) {
  std::ostringstream s;
  s << "(" << v[0] << ", " << v[1] << ", " << v[2] << ")";
  return s.str();
}

bool close(double a, double b, double tol) {
  return std::abs(a - b) <= tol * (1.0 + std::abs(b));
}

struct CaseChecker {
  const DatasetDescription& dataset;
  const CaseFiles& files;
  std::vector<Problem>& problems;
  size_t problems_before = problems.size();

  void problem(const fs::path& file, const std::string& field, const std::string& message) {
    problems.push_back({files.id, file.string(), field, message});
  }
  bool ok() const { return problems.size() == problems_before; }

  void check_spacing(const fs::path& file, const Geometry& g) {
    for (double s : g.spacing_xyz) {
      if (!std::isfinite(s) || s <= 0) {
        problem(file, "spacing", "spacing " + fmt3(g.spacing_xyz) + " must be finite and > 0");
        return;
      }
    }
  }

  void check_finite(const fs::path& file, const Image& image, int first_channel) {
    const int64_t n = image.geometry.num_voxels();
    // ITK's NIfTI reader turns NaN/Inf into 0: count them in the file itself.
    const NonFiniteCounts raw = count_non_finite_nifti(file);
    for (int c = 0; c < image.channels; ++c) {
      int64_t nan = c < static_cast<int>(raw.nan.size()) ? raw.nan[c] : 0;
      int64_t inf = c < static_cast<int>(raw.inf.size()) ? raw.inf[c] : 0;
      for (int64_t i = c * n; raw.nan.empty() && i < (c + 1) * n; ++i) {
        nan += std::isnan(image.voxels[i]);
        inf += std::isinf(image.voxels[i]);
      }
      if (nan + inf > 0) {
        problem(file, "voxels", "channel " + std::to_string(first_channel + c) + " holds " +
                                    std::to_string(nan) + " NaN and " + std::to_string(inf) +
                                    " Inf voxel(s)");
      }
    }
  }

  std::optional<Image> read(const fs::path& file) {
    try {
      Image image = read_image(file);
      check_spacing(file, image.geometry);
      return image;
    } catch (const Error& e) {
      problem(file, "file", e.what());
      return std::nullopt;
    }
  }

  std::optional<Image> read_images() {
    const int declared = dataset.num_channels();
    if (files.channels_in_one_file()) {
      auto image = read(files.images[0]);
      if (!image) return std::nullopt;
      if (image->channels != declared) {
        problem(files.images[0], "channels",
                "holds " + std::to_string(image->channels) + " channel(s) but dataset.json declares " +
                    std::to_string(declared));
        return std::nullopt;
      }
      check_finite(files.images[0], *image, 0);
      return image;
    }
    Image all;
    for (size_t c = 0; c < files.images.size(); ++c) {
      auto one = read(files.images[c]);
      if (!one) continue;
      if (one->channels != 1) {
        problem(files.images[c], "channels", "is 4D with " + std::to_string(one->channels) +
                                                 " volumes; expected one channel per file");
        continue;
      }
      check_finite(files.images[c], *one, static_cast<int>(c));
      if (c == 0) {
        all = std::move(*one);
        continue;
      }
      compare_geometry(files.images[c], "channel 0000", all.geometry, one->geometry, false);
      if (one->geometry.size_xyz == all.geometry.size_xyz) {
        all.voxels.insert(all.voxels.end(), one->voxels.begin(), one->voxels.end());
        all.channels += 1;
      }
    }
    if (!ok()) return std::nullopt;
    return all;
  }

  // Compares `g` (of `file`) with `ref` (of `ref_name`); with `full`, origin and direction too.
  void compare_geometry(const fs::path& file, const std::string& ref_name, const Geometry& ref,
                        const Geometry& g, bool full) {
    if (g.size_xyz != ref.size_xyz) {
      problem(file, "shape", "size " + fmt3(g.size_xyz) + " differs from " + ref_name + " size " +
                                 fmt3(ref.size_xyz));
    }
    std::array<double, 3> d{};
    bool differs = false;
    for (int a = 0; a < 3; ++a) {
      d[a] = g.spacing_xyz[a] - ref.spacing_xyz[a];
      differs = differs || !close(g.spacing_xyz[a], ref.spacing_xyz[a], 1e-5);
    }
    if (differs) {
      problem(file, "spacing", "spacing " + fmt3(g.spacing_xyz) + " differs from " + ref_name +
                                   " spacing " + fmt3(ref.spacing_xyz) + " by " + fmt3(d));
    }
    if (!full) return;
    differs = false;
    for (int a = 0; a < 3; ++a) {
      d[a] = g.origin_xyz[a] - ref.origin_xyz[a];
      differs = differs || !close(g.origin_xyz[a], ref.origin_xyz[a], 1e-4);
    }
    if (differs) {
      problem(file, "origin", "origin " + fmt3(g.origin_xyz) + " differs from " + ref_name +
                                  " origin " + fmt3(ref.origin_xyz) + " by " + fmt3(d) + " mm");
    }
    double worst = 0;
    for (int i = 0; i < 9; ++i) worst = std::max(worst, std::abs(g.direction[i] - ref.direction[i]));
    if (worst > 1e-4) {
      std::ostringstream s;
      s << "direction differs from " << ref_name << " direction by up to " << worst;
      problem(file, "direction", s.str());
    }
  }

  // Label values: integer-ness, declared values, and hints for images given as labels.
  std::optional<LabelImage> read_label(const Geometry& image_geometry) {
    Image raw;
    try {
      raw = read_label_raw(files.label);
    } catch (const Error& e) {
      problem(files.label, "file", e.what());
      return std::nullopt;
    }
    check_spacing(files.label, raw.geometry);
    compare_geometry(files.label, "image", image_geometry, raw.geometry, true);
    std::map<double, int64_t> counts;
    for (float v : raw.voxels) {
      if (counts.size() < 100000 || counts.count(v)) ++counts[v];
    }
    if (!check_label_values(counts)) return std::nullopt;
    try {
      return label_from_raw(raw, files.label);
    } catch (const Error& e) {
      problem(files.label, "labels", e.what());
      return std::nullopt;
    }
  }

  bool check_label_values(const std::map<double, int64_t>& counts) {
    int64_t non_finite = 0, negative = 0, fractional = 0;
    std::set<int64_t> rounded;
    for (const auto& [v, n] : counts) {
      if (!std::isfinite(v)) { non_finite += n; continue; }
      if (v < 0) negative += n;
      const double r = std::nearbyint(v);
      if (std::abs(v - r) > 1e-3) fractional += n; else rounded.insert(static_cast<int64_t>(r));
    }
    const std::string hint = " (an intensity image given as a label?)";
    if (non_finite) return bad("labels", std::to_string(non_finite) + " NaN/Inf voxel(s)");
    if (negative) return bad("labels", std::to_string(negative) + " voxel(s) with negative values" + hint);
    if (counts.size() > 100) {
      return bad("labels", std::to_string(counts.size()) + " distinct values" + hint);
    }
    if (fractional) {
      std::ostringstream s;
      s << fractional << " voxel(s) with fractional values (not within 1e-3 of an integer):";
      int shown = 0;
      for (const auto& [v, n] : counts) {
        if (std::abs(v - std::nearbyint(v)) > 1e-3 && shown++ < 8) s << " " << v;
      }
      return bad("labels", s.str());
    }
    if (rounded == std::set<int64_t>{0, 255} && !declared(255)) {
      return bad("labels", "values are exactly {0, 255}: a 0/255 mask? store the foreground as 1");
    }
    std::ostringstream undeclared;
    for (int64_t v : rounded) if (!declared(v)) undeclared << (undeclared.tellp() ? ", " : "") << v;
    if (undeclared.tellp()) {
      return bad("labels", "values {" + undeclared.str() + "} are not declared in dataset.json labels");
    }
    return true;
  }

  bool declared(int64_t v) const {
    for (const auto& [name, value] : dataset.labels) if (value == v) return true;
    return false;
  }
  bool bad(const std::string& field, const std::string& message) {
    problem(files.label, field, message);
    return false;
  }
};

}  // namespace

std::optional<LoadedCase> load_case(const DatasetDescription& dataset, const CaseFiles& files,
                                    std::vector<Problem>& problems) {
  CaseChecker checker{dataset, files, problems};
  for (const auto& f : files.images) {
    if (!fs::exists(f)) return std::nullopt;  // reported by read_dataset
  }
  auto image = checker.read_images();
  if (!image) return std::nullopt;
  LoadedCase out;
  out.id = files.id;
  out.image = std::move(*image);
  if (!files.label.empty() && fs::exists(files.label)) {
    out.label = checker.read_label(out.image.geometry);
  }
  if (!checker.ok()) return std::nullopt;
  return out;
}

void check_dimensionality(const std::vector<std::pair<std::string, bool>>& dims,
                          std::vector<Problem>& problems) {
  std::vector<std::string> two, three;
  for (const auto& [id, is_2d] : dims) (is_2d ? two : three).push_back(id);
  if (two.empty() || three.empty()) return;
  const auto& fewer = two.size() <= three.size() ? two : three;
  std::string list;
  for (size_t i = 0; i < fewer.size() && i < 10; ++i) list += (i ? ", " : "") + fewer[i];
  problems.push_back({"", "", "dimension",
                      "dataset mixes " + std::to_string(two.size()) + " 2D and " +
                          std::to_string(three.size()) + " 3D cases; the " +
                          (&fewer == &two ? "2D" : "3D") + " ones: " + list});
}

std::string problems_to_json(const std::vector<Problem>& problems) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& p : problems) j.push_back({p.case_id, p.file, p.field, p.message});
  return j.dump();
}

std::vector<Problem> problems_from_json(const std::string& text) {
  std::vector<Problem> out;
  for (const auto& p : nlohmann::json::parse(text)) out.push_back({p[0], p[1], p[2], p[3]});
  return out;
}

std::vector<Problem> validate_dataset(const fs::path& folder, const dist::Comm& world) {
  std::vector<Problem> problems;
  const DatasetDescription dataset = read_dataset(folder, problems);
  std::vector<Problem> mine;
  nlohmann::json dims = nlohmann::json::array();
  for (size_t i = world.rank(); i < dataset.training.size(); i += world.size()) {
    if (auto c = load_case(dataset, dataset.training[i], mine)) dims.push_back({c->id, c->is_2d()});
  }
  const auto all = world.allgather(nlohmann::json{problems_to_json(mine), dims.dump()}.dump());
  std::vector<std::pair<std::string, bool>> all_dims;
  for (const auto& text : all) {
    const auto j = nlohmann::json::parse(text);
    for (auto& p : problems_from_json(j[0])) problems.push_back(std::move(p));
    for (const auto& d : nlohmann::json::parse(j[1].get<std::string>())) all_dims.emplace_back(d[0], d[1]);
  }
  check_dimensionality(all_dims, problems);
  std::stable_sort(problems.begin(), problems.end(), [](const Problem& a, const Problem& b) {
    return a.case_id < b.case_id;
  });
  return problems;
}

std::string format_problems(const fs::path& folder, const std::vector<Problem>& problems) {
  std::string out = std::to_string(problems.size()) + " problem(s) in dataset " + folder.string() +
                    ":";
  for (const auto& p : problems) out += "\n  " + p.to_string();
  return out;
}

}  // namespace nnfleet::preprocessing
