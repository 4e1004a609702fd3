#include "worker/prediction_case.h"

#include "common/error.h"
#include "preprocessing/h5_file.h"

namespace nnfleet::worker {
namespace {

Shape3 spatial_of(const std::vector<int64_t>& shape, const std::filesystem::path& file, const std::string& name) {
  if (shape.size() != 4)
    throw Error("[predict] " + file.string() + ": dataset '" + name + "' must be [C, Z, Y, X], it has " +
                std::to_string(shape.size()) + " dimensions");
  return {shape[1], shape[2], shape[3]};
}

}  // namespace

PreprocessedCase read_preprocessed_case(const std::filesystem::path& file) {
  if (!std::filesystem::exists(file))
    throw Error("[predict] preprocessed case file " + file.string() + " does not exist; run preprocessing first");
  const auto h5 = preprocessing::H5File::open_read(file);
  PreprocessedCase c;
  const std::vector<int64_t> shape = h5.shape("data");
  c.shape = spatial_of(shape, file, "data");
  c.channels = shape[0];
  c.data = h5.read<float>("data");
  nlohmann::json props;
  try {
    props = nlohmann::json::parse(h5.attribute("properties"));
  } catch (const nlohmann::json::exception& e) {
    throw Error("[predict] " + file.string() + ": attribute 'properties' is not valid JSON: " + e.what());
  }
  c.properties = parse_case_properties(props, file.string());
  c.case_id = c.properties.case_id.empty() ? file.stem().string() : c.properties.case_id;
  c.properties.case_id = c.case_id;
  return c;
}

Shape3 case_file_spatial_shape(const std::filesystem::path& file, const std::string& name) {
  const auto h5 = preprocessing::H5File::open_read(file);
  return spatial_of(h5.shape(name), file, name);
}

}  // namespace nnfleet::worker
