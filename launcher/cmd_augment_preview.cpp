// Hidden `augment-preview`: the C++ side of scripts/write_augmented_patches.sh. Draws a few
// augmented training batches of one configuration and writes each sample's image channels and
// full-resolution target as NIfTI files, to look at the augmentation in a viewer.

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "launcher/command_registry.h"
#include "preprocessing/image_io.h"
#include "worker/data_loader.h"
#include "worker/train_setup.h"

namespace nnfleet::launcher {
namespace {

struct PreviewOptions {
  std::string dataset_dir, out_dir;
  std::string configuration = "3d_fullres";
  int batches = 2;
  bool augment = true;
  uint64_t seed = 12345;
};

nlohmann::json read_json(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw Error("[augment-preview] cannot read " + file.string());
  return nlohmann::json::parse(in);
}

// Geometry of a patch tensor [C, *spatial] (2 or 3 spatial axes) with the configuration's spacing.
preprocessing::Geometry patch_geometry(const torch::Tensor& patch,
                                       const std::vector<double>& spacing_zyx) {
  preprocessing::Geometry g;
  const auto sizes = patch.sizes();
  const bool three_d = sizes.size() == 4;
  g.size_xyz = {sizes.back(), sizes[sizes.size() - 2], three_d ? sizes[1] : 1};
  g.file_dimension = three_d ? 3 : 2;
  const size_t n = spacing_zyx.size();
  g.spacing_xyz = {spacing_zyx[n - 1], spacing_zyx[n - 2], three_d ? spacing_zyx[0] : 1.0};
  return g;
}

void write_sample(const std::filesystem::path& stem, const torch::Tensor& image,
                  const torch::Tensor& target, const std::vector<double>& spacing_zyx) {
  preprocessing::Image img;
  img.geometry = patch_geometry(image, spacing_zyx);
  img.channels = static_cast<int>(image.size(0));
  const auto data = image.contiguous();
  img.voxels.assign(data.data_ptr<float>(), data.data_ptr<float>() + data.numel());
  preprocessing::write_image(stem.string() + "_img.nii.gz", img);
  preprocessing::LabelImage seg;
  seg.geometry = img.geometry;
  const auto labels = target.to(torch::kUInt8).contiguous();
  seg.voxels.assign(labels.data_ptr<uint8_t>(), labels.data_ptr<uint8_t>() + labels.numel());
  preprocessing::write_label(stem.string() + "_seg.nii.gz", seg);
}

int run_preview(const PreviewOptions& o) {
  const std::filesystem::path dir = o.dataset_dir;
  const auto plans = read_json(dir / "nnUNetPlans.json");
  const auto& c = plans.at("configurations").at(o.configuration);
  worker::LoaderOptions l;
  l.case_folder = dir / c.value("data_identifier", "nnUNetPlans_" + o.configuration);
  for (const auto& entry : std::filesystem::directory_iterator(l.case_folder)) {
    if (entry.path().extension() == ".h5") l.cases.push_back(entry.path().stem().string());
  }
  std::sort(l.cases.begin(), l.cases.end());
  l.patch_size = c.at("patch_size").get<std::vector<int64_t>>();
  l.global_batch_size = c.at("batch_size").get<int>();
  for (size_t a = 0; a < l.patch_size.size(); ++a) l.mirror_axes.push_back(static_cast<int>(a));
  l.labels = worker::label_values(read_json(dir / "dataset.json"));
  l.augment = o.augment;
  l.seed = o.seed;
  l.num_workers = 1;
  const auto spacing = c.at("spacing").get<std::vector<double>>();
  worker::DataLoader loader(l);
  std::filesystem::create_directories(o.out_dir);
  for (int b = 0; b < o.batches; ++b) {
    const worker::Batch batch = loader.next();
    for (int j = 0; j < loader.local_batch_size(); ++j) {
      const auto stem =
          std::filesystem::path(o.out_dir) /
          ("batch" + std::to_string(b) + "_sample" + std::to_string(j) + "_" + batch.cases[j]);
      write_sample(stem, batch.data[j], batch.target[0][j][0], spacing);
      std::cout << stem.string() << "_{img,seg}.nii.gz\n";
    }
  }
  return 0;
}

std::function<int()> install_preview(CLI::App& app, const GlobalOptions&) {
  app.description("write augmented training patches as NIfTI (scripts/write_augmented_patches.sh)");
  app.group("");  // hidden from --help
  auto o = std::make_shared<PreviewOptions>();
  app.add_option("--dataset-dir", o->dataset_dir, "<preprocessed>/DatasetNNN_Name")->required();
  app.add_option("--out", o->out_dir, "output folder")->required();
  app.add_option("-c,--configuration", o->configuration);
  app.add_option("--batches", o->batches);
  app.add_option("--augment", o->augment);
  app.add_option("--seed", o->seed);
  return [o] { return run_preview(*o); };
}

const CommandRegistrar preview_registrar({"augment-preview", 993, install_preview});

}  // namespace
}  // namespace nnfleet::launcher
