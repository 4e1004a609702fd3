#include "evaluation/metric_table.h"

#include "common/error.h"

namespace nnfleet::evaluation {
namespace {

void merge_into(MetricTables& all, const std::vector<std::string>& texts) {
  for (size_t r = 0; r < texts.size(); ++r) {
    const MetricTables part =
        tables_from_json(nlohmann::json::parse(texts[r]), "metric tables of rank " + std::to_string(r));
    for (const auto& [model, cases] : part) {
      auto& dst = all[model];
      dst.insert(dst.end(), cases.begin(), cases.end());
    }
  }
}

}  // namespace

nlohmann::json tables_to_json(const MetricTables& tables) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [model, cases] : tables) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& c : cases) {
      nlohmann::json counts = nlohmann::json::array();
      for (const auto& k : c.counts) counts.push_back({k.tp, k.fp, k.fn, k.tn});
      list.push_back({{"case", c.case_id}, {"prediction", c.prediction_file},
                      {"reference", c.reference_file}, {"counts", counts}});
    }
    j[model] = list;
  }
  return j;
}

MetricTables tables_from_json(const nlohmann::json& j, const std::string& where) {
  MetricTables tables;
  try {
    for (const auto& [model, list] : j.items()) {
      auto& cases = tables[model];
      for (const auto& item : list) {
        CaseCounts c;
        c.case_id = item.at("case").get<std::string>();
        c.prediction_file = item.at("prediction").get<std::string>();
        c.reference_file = item.at("reference").get<std::string>();
        for (const auto& k : item.at("counts"))
          c.counts.push_back({k.at(0).get<int64_t>(), k.at(1).get<int64_t>(), k.at(2).get<int64_t>(),
                              k.at(3).get<int64_t>()});
        cases.push_back(std::move(c));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error("[evaluation] " + where + " are malformed: " + e.what());
  }
  return tables;
}

MetricTables gather_tables(const MetricTables& mine, const dist::Comm& world, int root) {
  MetricTables all;
  merge_into(all, world.gather(tables_to_json(mine).dump(), root));
  return all;
}

MetricTables allgather_tables(const MetricTables& mine, const dist::Comm& world) {
  MetricTables all;
  merge_into(all, world.allgather(tables_to_json(mine).dump()));
  return all;
}

}  // namespace nnfleet::evaluation
