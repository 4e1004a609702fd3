#include "evaluation/summary.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/atomic_file.h"
#include "common/error.h"

namespace nnfleet::evaluation {
namespace fs = std::filesystem;
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double pairwise_sum(const double* a, size_t n) {
  if (n < 8) {
    double res = 0.0;
    for (size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

MetricValues values_of(const LabelCounts& c) {
  return {c.dice(), c.iou(), double(c.fp), double(c.tp), double(c.fn), double(c.tn),
          double(c.n_pred()), double(c.n_ref())};
}

// Applies `reduce` to each metric across `rows`.
template <typename Reduce>
MetricValues reduce_metrics(const std::vector<MetricValues>& rows, Reduce reduce) {
  auto column = [&](double MetricValues::*field) {
    std::vector<double> v;
    v.reserve(rows.size());
    for (const auto& r : rows) v.push_back(r.*field);
    return reduce(v);
  };
  MetricValues m;
  for (auto field : {&MetricValues::dice, &MetricValues::iou, &MetricValues::fp, &MetricValues::tp,
                     &MetricValues::fn, &MetricValues::tn, &MetricValues::n_pred,
                     &MetricValues::n_ref}) {
    m.*field = column(field);
  }
  return m;
}

nlohmann::json number(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

nlohmann::json metrics_json(const MetricValues& m) {
  return {{"Dice", number(m.dice)}, {"IoU", number(m.iou)}, {"FP", number(m.fp)},
          {"TP", number(m.tp)},     {"FN", number(m.fn)},   {"TN", number(m.tn)},
          {"n_pred", number(m.n_pred)}, {"n_ref", number(m.n_ref)}};
}

nlohmann::json counts_json(const LabelCounts& c) {
  return {{"Dice", number(c.dice())}, {"IoU", number(c.iou())}, {"FP", c.fp}, {"TP", c.tp},
          {"FN", c.fn}, {"TN", c.tn}, {"n_pred", c.n_pred()}, {"n_ref", c.n_ref()}};
}

std::string csv_number(double v) {
  if (std::isnan(v)) return "NaN";
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

std::string csv_row(const std::string& case_id, int label, const std::string& name,
                    const MetricValues& m) {
  std::string row = case_id + "," + std::to_string(label) + "," + name;
  for (double v : {m.dice, m.iou, m.tp, m.fp, m.fn, m.tn, m.n_pred, m.n_ref})
    row += "," + csv_number(v);
  return row + "\n";
}

}  // namespace

double numpy_sum(const std::vector<double>& values) {
  return pairwise_sum(values.data(), values.size());
}

double numpy_nanmean(const std::vector<double>& values) {
  std::vector<double> zeroed(values);
  size_t count = 0;
  for (double& v : zeroed) {
    if (std::isnan(v)) v = 0.0;
    else ++count;
  }
  return count == 0 ? kNaN : numpy_sum(zeroed) / double(count);
}

double numpy_mean(const std::vector<double>& values) {
  return values.empty() ? kNaN : numpy_sum(values) / double(values.size());
}

double Summary::mean_dice_of(int label) const {
  for (size_t i = 0; i < labels.foreground.size(); ++i)
    if (labels.foreground[i] == label) return mean[i].dice;
  throw Error("[evaluation] label " + std::to_string(label) + " is not evaluated in this summary");
}

Summary summarize(const LabelSet& labels, std::vector<CaseCounts> cases) {
  std::sort(cases.begin(), cases.end(),
            [](const CaseCounts& a, const CaseCounts& b) { return a.case_id < b.case_id; });
  for (size_t i = 0; i < cases.size(); ++i) {
    if (cases[i].counts.size() != labels.foreground.size()) {
      throw Error("[evaluation] case " + cases[i].case_id + " has counts for " +
                  std::to_string(cases[i].counts.size()) + " labels; expected " +
                  std::to_string(labels.foreground.size()));
    }
    if (i > 0 && cases[i].case_id == cases[i - 1].case_id)
      throw Error("[evaluation] case " + cases[i].case_id + " appears twice");
  }
  Summary s;
  s.labels = labels;
  for (size_t l = 0; l < labels.foreground.size(); ++l) {
    std::vector<MetricValues> rows;
    for (const auto& c : cases) rows.push_back(values_of(c.counts[l]));
    s.mean.push_back(reduce_metrics(rows, numpy_nanmean));
  }
  s.foreground_mean = reduce_metrics(s.mean, numpy_mean);
  s.cases = std::move(cases);
  return s;
}

nlohmann::json summary_to_json(const Summary& summary) {
  nlohmann::json j;
  j["foreground_mean"] = metrics_json(summary.foreground_mean);
  j["mean"] = nlohmann::json::object();
  for (size_t l = 0; l < summary.labels.foreground.size(); ++l)
    j["mean"][std::to_string(summary.labels.foreground[l])] = metrics_json(summary.mean[l]);
  j["metric_per_case"] = nlohmann::json::array();
  for (const auto& c : summary.cases) {
    nlohmann::json metrics = nlohmann::json::object();
    for (size_t l = 0; l < c.counts.size(); ++l)
      metrics[std::to_string(summary.labels.foreground[l])] = counts_json(c.counts[l]);
    j["metric_per_case"].push_back(
        {{"metrics", metrics}, {"prediction_file", c.prediction_file}, {"reference_file", c.reference_file}});
  }
  return j;
}

std::string summary_to_csv(const Summary& summary) {
  const LabelSet& labels = summary.labels;
  std::string csv = "case,label,name,Dice,IoU,TP,FP,FN,TN,n_pred,n_ref\n";
  for (const auto& c : summary.cases)
    for (size_t l = 0; l < c.counts.size(); ++l)
      csv += csv_row(c.case_id, labels.foreground[l], labels.names[l], values_of(c.counts[l]));
  for (size_t l = 0; l < labels.foreground.size(); ++l)
    csv += csv_row("mean", labels.foreground[l], labels.names[l], summary.mean[l]);
  return csv + csv_row("foreground_mean", -1, "foreground", summary.foreground_mean);
}

void write_summary(const fs::path& json_file, const Summary& summary) {
  write_json_atomically(json_file, summary_to_json(summary));
  fs::path csv = json_file;
  csv.replace_extension(".csv");
  write_text_atomically(csv, summary_to_csv(summary));
}

nlohmann::json parse_json_allowing_nan(const std::string& text, const std::string& where) {
  // Replace the bare tokens NaN, Infinity and -Infinity outside strings by null.
  std::string clean;
  clean.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      clean += c;
      if (c == '\\' && i + 1 < text.size()) clean += text[++i];
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    bool replaced = false;
    for (const char* token : {"-Infinity", "Infinity", "NaN"}) {
      const size_t n = std::char_traits<char>::length(token);
      if (text.compare(i, n, token) == 0) {
        clean += "null";
        i += n - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) clean += c;
  }
  try {
    return nlohmann::json::parse(clean);
  } catch (const nlohmann::json::exception& e) {
    throw Error("[evaluation] " + where + " is not valid JSON: " + e.what());
  }
}

nlohmann::json read_json_allowing_nan(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("[evaluation] cannot read " + file.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_json_allowing_nan(buffer.str(), file.string());
}

double metric_value(const nlohmann::json& value) {
  return value.is_number() ? value.get<double>() : kNaN;
}

}  // namespace nnfleet::evaluation
