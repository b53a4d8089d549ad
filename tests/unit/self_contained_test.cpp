// What ships (the header, the sources, the docs, the bindings and examples)
// speaks of the project only: no file points outside the repository.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "support/test_support.hpp"

namespace fs = std::filesystem;

TEST(SelfContained, NothingThatShipsPointsOutsideTheRepository) {
  const std::regex outside(R"(\.\./shared|shared/spec|\b(runtime|coach|formats|pipeline)\.md\b|coach-v6)");
  size_t files = 0;
  for (const char* dir : {"include", "src", "docs", "bindings", "examples", "schemas"}) {
    for (const auto& entry : fs::recursive_directory_iterator(josi::test::source_dir() / dir)) {
      if (!entry.is_regular_file()) continue;
      const auto ext = entry.path().extension();
      if (ext != ".h" && ext != ".hpp" && ext != ".cpp" && ext != ".c" && ext != ".md" && ext != ".java" && ext != ".kt" &&
          ext != ".json" && ext != ".txt")
        continue;
      ++files;
      const std::string text = josi::test::read_text(entry.path());
      std::smatch m;
      EXPECT_FALSE(std::regex_search(text, m, outside)) << entry.path() << ": " << m.str();
    }
  }
  EXPECT_GT(files, 100u);
}
