#include "common/atomic_file.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/error.h"

namespace nnfleet {
namespace fs = std::filesystem;

fs::path temporary_name_for(const fs::path& target) {
  return target.string() + ".tmp." + std::to_string(::getpid());
}

void write_atomically(const fs::path& target, const std::function<void(const fs::path&)>& write) {
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  const fs::path tmp = temporary_name_for(target);
  try {
    write(tmp);
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error("cannot move " + tmp.string() + " into place as " + target.string() + ": " +
                ec.message());
  }
}

void write_text_atomically(const fs::path& target, const std::string& text) {
  write_atomically(target, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw Error("cannot open " + tmp.string() + " for writing");
    out << text;
    out.flush();
    if (!out) throw Error("write to " + tmp.string() + " failed (disk full?)");
  });
}

void write_json_atomically(const fs::path& target, const nlohmann::json& value) {
  write_text_atomically(target, value.dump(2) + "\n");
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // Convert the byte offset into line and column for the message.
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    throw Error(path.string() + ":" + std::to_string(line) + ":" + std::to_string(column) +
                ": invalid JSON: " + e.what());
  }
}

}  // namespace nnfleet
