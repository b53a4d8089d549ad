// scripts/demo.sh, the main job, in its short version (JOSI_DEMO_SHORT=1:
// two training steps per role, two chat turns): every step of the models'
// life runs on the tiny preset, from prepare to josi chat on the files
// downloaded through nginx, and the summary table names each; then the v6
// life of one tiny Qwen3 on a slice of the users' v7 data: unified
// training, merge, quantize, the release gate refused and skipped, publish
// with the cards, download, and a three-turn conversation with cards and a
// Q8_0 KV cache.
#include <gtest/gtest.h>

#include "integration/ship_servers.hpp"

using namespace josi::test;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Demo, TheShortLifecycleRunsEveryStep) {
  TempDir out;
  auto r = run_shell("JOSI=" + std::string(JOSI_BINARY) + " JOSI_DEMO_OUT=" + out.path().string() +
                     " JOSI_DEMO_SHORT=1 OMP_WAIT_POLICY=PASSIVE JOSI_V7_DATA=" +
                     (shared_dir() / "reference" / "mivalta-v7").string() + " " + (source_dir() / "scripts" / "demo.sh").string());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string summary = r.out.substr(r.out.find("== Summary"));
  for (const char* step : {"train interpreter", "train explainer", "merge interpreter", "merge explainer",
                           "export-gguf interpreter F16", "quantize explainer Q4_K_M", "sanity interpreter",
                           "sanity explainer", "eval interpreter --compare", "eval explainer --compare",
                           "publish (S3, --skip-sanity)", "download (nginx)", "chat (prefixes evaluated)",
                           "init-base qwen3-tiny", "train unified (qwen3-tiny)", "merge + export + quantize (v6)",
                           "v6 gate (refused)", "publish v6 (--skip-sanity)", "download v6 (nginx)",
                           "3-turn conversation, Q8_0 KV"})
    EXPECT_TRUE(contains(summary, step)) << step << "\n" << summary;
  EXPECT_TRUE(contains(summary, "interpreter 0/5") || contains(summary, "/5 (")) << summary;
  EXPECT_TRUE(contains(summary, "top-1 ")) << summary;
  EXPECT_TRUE(contains(summary, R"(manifest sanity {"interpreter":"skipped","explainer":"skipped"})")) << summary;
  EXPECT_TRUE(contains(summary, "2 files, sha256 verified")) << summary;
  EXPECT_TRUE(contains(summary, "2 turns, 2 valid requests")) << summary;
  EXPECT_TRUE(contains(summary, "identical turns")) << summary;
  EXPECT_TRUE(contains(summary, "cannot pass the release targets")) << summary;
  EXPECT_TRUE(contains(r.out, "release checks failed, nothing uploaded")) << "the gate refused first";
  // The v6 life.
  EXPECT_TRUE(contains(summary, "2 steps, preset v6")) << summary;
  EXPECT_TRUE(contains(r.out, "josi.preset                             string         \"v6\"")) << r.out;
  EXPECT_TRUE(contains(r.out, "/6, tests ") && contains(r.out, "/3, tests ")) << "the v6 sets ran: " << r.out;
  EXPECT_TRUE(contains(r.out, "(must be under 1.5): FAILS")) << r.out;
  EXPECT_TRUE(contains(summary, R"(preset v6, checks {"sanity":"skipped","eval_loss":"skipped","fidelity":"skipped"}, knowledge josi-v5-knowledge.json)"))
      << summary;
  EXPECT_TRUE(contains(summary, "josi-v5-knowledge.json josi-v5-manifest.json")) << summary;
  EXPECT_TRUE(contains(summary, "3 turns, 3 with cards, history 0/2/4")) << summary;
  EXPECT_TRUE(fs::exists(out / "v6" / "downloaded" / "josi-v5-knowledge.json"));
  EXPECT_TRUE(fs::exists(out / "downloaded" / "josi-v5-interpreter-q4_k_m.gguf"));
}

}  // namespace
