#pragma once
// Files that a later step trusts are written under a temporary name in the same folder and renamed
// into place, so a killed run never leaves a half-written file that looks complete.

#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace nnfleet {

// The temporary name used for `target`: "<target>.tmp.<pid>" in the same folder (same file system,
// so the rename is atomic).
std::filesystem::path temporary_name_for(const std::filesystem::path& target);

// Calls write(tmp) to produce the file at a temporary path, then renames it onto `target`.
// If write throws, the temporary file is removed and `target` is left untouched.
void write_atomically(const std::filesystem::path& target,
                      const std::function<void(const std::filesystem::path& tmp)>& write);

void write_text_atomically(const std::filesystem::path& target, const std::string& text);
void write_json_atomically(const std::filesystem::path& target, const nlohmann::json& value);

// Reads a JSON file strictly; errors name the file, line and column.
nlohmann::json read_json(const std::filesystem::path& path);

}  // namespace nnfleet
