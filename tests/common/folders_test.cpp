#include "common/folders.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "common/atomic_file.h"
#include "common/error.h"
#include "tests/support/test_paths.h"

namespace nnfleet {
namespace {
namespace fs = std::filesystem;

TEST(DatasetNames, ParsesTaskAndDatasetFolders) {
  EXPECT_EQ(parse_dataset_folder_name("Task04_Hippocampus"), std::make_pair(4, std::string("Hippocampus")));
  EXPECT_EQ(parse_dataset_folder_name("Dataset004_Hippocampus"),
            std::make_pair(4, std::string("Hippocampus")));
  EXPECT_EQ(parse_dataset_folder_name("Task504_My_Task"), std::make_pair(504, std::string("My_Task")));
  EXPECT_FALSE(parse_dataset_folder_name("Hippocampus").has_value());
  EXPECT_EQ(canonical_dataset_name(4, "Hippocampus"), "Dataset004_Hippocampus");
}

TEST(DatasetNames, ResolvesNumberNameAndPathToTheSameDataset) {
  const fs::path raw = test::scratch_dir("resolve");
  fs::create_directories(raw / "Task04_Hippocampus");
  fs::create_directories(raw / "Dataset027_ACDC");
  Folders folders;
  folders.raw = raw;
  const std::vector<std::string> specs{"4", "Task04_Hippocampus", "Dataset004_Hippocampus",
                                       (raw / "Task04_Hippocampus").string()};
  for (const std::string& spec : specs) {
    const DatasetRef ref = resolve_dataset(spec, folders);
    EXPECT_EQ(ref.canonical, "Dataset004_Hippocampus") << spec;
    EXPECT_EQ(ref.raw_folder.filename(), "Task04_Hippocampus") << spec;
  }
  EXPECT_EQ(resolve_dataset("27", folders).canonical, "Dataset027_ACDC");
}

TEST(DatasetNames, UnknownDatasetErrorNamesTheSearchedFolder) {
  Folders folders;
  folders.raw = test::scratch_dir("resolve-missing");
  try {
    resolve_dataset("Task99_Nothing", folders);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Task99_Nothing"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(folders.raw.string()), std::string::npos);
  }
}

TEST(Folders, FlagBeatsNnfleetVariableBeatsNnunetVariable) {
  ::setenv("nnUNet_raw", "/from/nnunet", 1);
  ::unsetenv("NNFLEET_RAW");
  EXPECT_EQ(Folders::resolve("", "", "").raw, "/from/nnunet");
  EXPECT_EQ(Folders::resolve("", "", "").raw_source, "nnUNet_raw");
  ::setenv("NNFLEET_RAW", "/from/nnfleet", 1);
  EXPECT_EQ(Folders::resolve("", "", "").raw, "/from/nnfleet");
  EXPECT_EQ(Folders::resolve("/from/flag", "", "").raw, "/from/flag");
  ::unsetenv("NNFLEET_RAW");
  ::unsetenv("nnUNet_raw");
  EXPECT_THROW(Folders::resolve("", "", "").require_raw(), Error);
}

TEST(AtomicFile, FailedWriteLeavesTheOldFileIntact) {
  const fs::path dir = test::scratch_dir("atomic");
  const fs::path target = dir / "plans.json";
  write_json_atomically(target, nlohmann::json{{"version", 1}});
  EXPECT_THROW(write_atomically(target,
                                [](const fs::path& tmp) {
                                  std::ofstream(tmp) << "{\"half";
                                  throw Error("disk full");
                                }),
               Error);
  EXPECT_EQ(read_json(target).at("version"), 1);
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1) << "the temporary file must be removed";
}

TEST(AtomicFile, InvalidJsonErrorGivesLineAndColumn) {
  const fs::path file = test::scratch_dir("badjson") / "dataset.json";
  std::ofstream(file) << "{\n  \"labels\": {\n    \"0\": \"background\",\n  }\n}\n";
  try {
    read_json(file);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(file.string() + ":4:"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nnfleet
