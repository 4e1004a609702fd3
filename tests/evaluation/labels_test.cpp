#include "evaluation/labels.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace nnfleet::evaluation {
namespace {

TEST(Labels, ReadsMsdIndexToNameInValueOrder) {
  const auto j = nlohmann::json::parse(R"({"labels": {"2": "Posterior", "0": "background", "1": "Anterior"}})");
  const LabelSet set = parse_labels(j, "dataset.json");
  EXPECT_EQ(set.foreground, (std::vector<int>{1, 2}));
  EXPECT_EQ(set.names, (std::vector<std::string>{"Anterior", "Posterior"}));
  EXPECT_FALSE(set.ignore_label.has_value());
  EXPECT_EQ(set.max_label(), 2);
}

TEST(Labels, ReadsV2NameToValueWithIgnoreLabel) {
  const auto j = nlohmann::json::parse(
      R"({"labels": {"background": 0, "tumour": 2, "organ": 1, "ignore": 3}})");
  const LabelSet set = parse_labels(j, "dataset.json");
  EXPECT_EQ(set.foreground, (std::vector<int>{1, 2}));
  EXPECT_EQ(set.names, (std::vector<std::string>{"organ", "tumour"}));
  ASSERT_TRUE(set.ignore_label.has_value());
  EXPECT_EQ(*set.ignore_label, 3);
  EXPECT_EQ(labels_to_v2_json(set),
            nlohmann::json::parse(R"({"background": 0, "organ": 1, "tumour": 2, "ignore": 3})"));
}

TEST(Labels, RejectsRegionsMissingLabelsAndOutOfRangeValues) {
  EXPECT_THROW(parse_labels(nlohmann::json::parse(R"({"labels": {"background": 0, "whole": [1, 2]}})"), "x"),
               Error);
  EXPECT_THROW(parse_labels(nlohmann::json::parse(R"({"name": "no labels"})"), "x"), Error);
  EXPECT_THROW(parse_labels(nlohmann::json::parse(R"({"labels": {"background": 0, "a": 300}})"), "x"), Error);
  EXPECT_THROW(parse_labels(nlohmann::json::parse(R"({"labels": {"0": "background"}})"), "x"), Error);
}

TEST(Labels, ErrorNamesTheFileAndTheLabel) {
  try {
    parse_labels(nlohmann::json::parse(R"({"labels": {"background": 0, "a": 1, "b": 1}})"), "my/dataset.json");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("my/dataset.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'b'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nnfleet::evaluation
