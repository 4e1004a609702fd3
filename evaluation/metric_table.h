#pragma once
// Metric tables as they travel between ranks: per model, the per-case per-label counts
// (TP, FP, FN, TN) with the case's file names. Only these tables cross the network during
// cluster-wide selection; probabilities never leave the rank that read them.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dist/mpi_world.h"
#include "evaluation/metrics.h"

namespace nnfleet::evaluation {

// model name -> cases (any order).
using MetricTables = std::map<std::string, std::vector<CaseCounts>>;

nlohmann::json tables_to_json(const MetricTables& tables);
// Throws nnfleet::Error naming `where` on malformed input.
MetricTables tables_from_json(const nlohmann::json& j, const std::string& where);

// Collective: merges every rank's tables at `root` (other ranks get an empty map).
MetricTables gather_tables(const MetricTables& mine, const dist::Comm& world, int root = 0);
// Collective: every rank gets every rank's tables merged.
MetricTables allgather_tables(const MetricTables& mine, const dist::Comm& world);

}  // namespace nnfleet::evaluation
