#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace nnfleet::log {
namespace {

int g_rank = 0;
int g_size = 1;

void apply_pattern(const std::string& job) {
  std::string tag = g_size > 1 ? "r" + std::to_string(g_rank) : "";
  if (!job.empty()) tag += (tag.empty() ? "" : " ") + job;
  std::string prefix = tag.empty() ? "" : "[" + tag + "] ";
  spdlog::set_pattern("%H:%M:%S %^%L%$ " + prefix + "%v");
}

}  // namespace

void set_rank(int world_rank, int world_size) {
  g_rank = world_rank;
  g_size = world_size;
  apply_pattern("");
}

void set_job(const std::string& job) { apply_pattern(job); }

void set_level(const std::string& level) { spdlog::set_level(spdlog::level::from_str(level)); }

}  // namespace nnfleet::log
