#pragma once
// Minimal reader for the .npy fixtures made by tests/data/reference/preprocessing/make_fixtures.py
// (little-endian float32 '<f4' or int8 '|i1', C order).

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace nnfleet::test {

template <typename T>
struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<T> values;
};

template <typename T>
NpyArray<T> read_npy(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + file.string());
  char magic[8];
  in.read(magic, 8);
  uint16_t header_len = 0;
  if (magic[6] == 1) {
    in.read(reinterpret_cast<char*>(&header_len), 2);
  } else {
    uint32_t len4 = 0;
    in.read(reinterpret_cast<char*>(&len4), 4);
    header_len = static_cast<uint16_t>(len4);
  }
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  const std::string descr = sizeof(T) == 4 ? "<f4" : "|i1";
  if (header.find(descr) == std::string::npos || header.find("'fortran_order': False") == std::string::npos) {
    throw std::runtime_error(file.string() + ": unexpected npy header " + header);
  }
  NpyArray<T> a;
  const auto open = header.find('(', header.find("'shape'"));
  const auto close = header.find(')', open);
  std::string dims = header.substr(open + 1, close - open - 1);
  size_t pos = 0;
  int64_t count = 1;
  while (pos < dims.size()) {
    const size_t comma = dims.find(',', pos);
    const std::string tok = dims.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (tok.find_first_of("0123456789") != std::string::npos) {
      a.shape.push_back(std::stoll(tok));
      count *= a.shape.back();
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  a.values.resize(static_cast<size_t>(count));
  in.read(reinterpret_cast<char*>(a.values.data()), count * static_cast<int64_t>(sizeof(T)));
  return a;
}

}  // namespace nnfleet::test
