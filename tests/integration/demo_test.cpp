// scripts/demo.sh, the main job, in its short version (JOSI_DEMO_SHORT=1:
// two training steps per role, two chat turns): every step of the models'
// life runs on the tiny preset, from prepare to josi chat on the files
// downloaded through nginx, and the summary table names each.
#include <gtest/gtest.h>

#include "integration/ship_servers.hpp"

using namespace josi::test;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Demo, TheShortLifecycleRunsEveryStep) {
  TempDir out;
  auto r = run_shell("JOSI=" + std::string(JOSI_BINARY) + " JOSI_DEMO_OUT=" + out.path().string() +
                     " JOSI_DEMO_SHORT=1 OMP_WAIT_POLICY=PASSIVE " + (source_dir() / "scripts" / "demo.sh").string());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string summary = r.out.substr(r.out.find("== Summary"));
  for (const char* step : {"train interpreter", "train explainer", "merge interpreter", "merge explainer",
                           "export-gguf interpreter F16", "quantize explainer Q4_K_M", "sanity interpreter",
                           "sanity explainer", "eval interpreter --compare", "eval explainer --compare",
                           "publish (S3, --skip-sanity)", "download (nginx)", "chat (prefixes evaluated)"})
    EXPECT_TRUE(contains(summary, step)) << step << "\n" << summary;
  EXPECT_TRUE(contains(summary, "interpreter 0/5") || contains(summary, "/5 (")) << summary;
  EXPECT_TRUE(contains(summary, "top-1 ")) << summary;
  EXPECT_TRUE(contains(summary, R"(manifest sanity {"interpreter":"skipped","explainer":"skipped"})")) << summary;
  EXPECT_TRUE(contains(summary, "2 files, sha256 verified")) << summary;
  EXPECT_TRUE(contains(summary, "2 turns, 2 valid requests")) << summary;
  EXPECT_TRUE(contains(summary, "identical turns")) << summary;
  EXPECT_TRUE(contains(summary, "cannot pass the seed's targets")) << summary;
  EXPECT_TRUE(contains(r.out, "sanity checks failed, nothing uploaded")) << "the gate refused first";
  EXPECT_TRUE(fs::exists(out / "downloaded" / "josi-v5-interpreter-q4_k_m.gguf"));
}

}  // namespace
