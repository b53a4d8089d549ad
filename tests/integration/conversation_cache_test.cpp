// The coach keeps its conversation in its KV cache (runtime/cache_reuse,
// infer::Context::shift), on a tiny Qwen3 in the v6 preset (real tokenizer,
// random weights), greedy: a later turn evaluates only what is new and
// replies exactly as a coach that evaluates everything; turns whose oldest
// history the budget drops move the cache instead of reading it again; and
// a cancelled turn, a failed one, another athlete or forget() never let a
// reply come from a stale cache.
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "json/json.hpp"
#include "json/python_dumps.hpp"
#include "runtime/coach.hpp"
#include "support/test_support.hpp"

using josi::json::Json;
using josi::runtime::Coach;
using josi::runtime::CoachOptions;
using josi::test::read_text;
using josi::test::run_josi;
using josi::test::TempDir;
namespace fs = std::filesystem;

namespace {

class ConversationCache : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const fs::path base = dir_->path() / "base";
    auto r = run_josi({"init-base", "--preset", "qwen3-tiny", "--tokenizer", josi::test::qwen_tokenizer_json().string(),
                       "--out", base.string(), "--seed", "9", "--dtype", "bf16"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_josi({"export-gguf", base.string(), "--outfile", model().string(), "--outtype", "f16", "--preset", "v6"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    josi::test::write_random_adapter(base, dir_->path() / "peft");
    r = run_josi({"export-gguf", "--lora", (dir_->path() / "peft").string(), "--base", base.string(), "--outfile",
                  adapter().string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path model() { return dir_->path() / "v6.gguf"; }
  static fs::path adapter() { return dir_->path() / "adapter.gguf"; }
  static CoachOptions options() {
    CoachOptions o;
    o.interpreter_model = model();
    o.threads = 2;
    o.seed = 1;
    return o;
  }
  static TempDir* dir_;
};
TempDir* ConversationCache::dir_ = nullptr;

const std::vector<std::string> kMessages = {
    "Why is my zone capped today?", "What does zone 3 feel like?", "Can I still do intervals this week?",
    "How long should my long run be?", "Is the fatigue from my last race?", "What should I eat before the session?",
    "Should I swap tomorrow for a rest day?", "How do I know the cap is lifted?", "Can I cycle instead of running?",
    "What pace is easy for me?"};

Json starting_context() {
  Json c = Json::parse(read_text(josi::test::source_dir() / "data" / "chat_context.sample.json"));
  c["history"] = Json::array();
  c["grounding"] = {{"max_zone_allowed", "Z3"}, {"zone_cap_reason", "Accumulated fatigue"}, {"age", 52}};
  return c;
}

// A greedy turn; the interpreter's answer is replayed so that every turn
// reaches the coach, whose reply is the random model's own.
Json turn_input(const std::string& message, const Json& context, int max_tokens = 12) {
  Json request = Json::object();
  request["action"] = "answer_question";
  request["question"] = message;
  Json options = {{"seed", 3}, {"temperature", 0}};
  options["interpreter"] = {{"replay", josi::json::python_dumps(request)}};
  options["explainer"] = {{"max_tokens", max_tokens}};
  return {{"message", message}, {"context", context}, {"options", options}};
}

// A conversation through `coach`: each turn's history and memory go into the next one's context.
class Athlete {
 public:
  explicit Athlete(Json context = starting_context()) : context_(std::move(context)) {}
  Json input(const std::string& message, int max_tokens = 12) const { return turn_input(message, context_, max_tokens); }
  Json say(Coach& coach, const std::string& message, int max_tokens = 12) {
    Json out = coach.turn(input(message, max_tokens));
    for (const auto& entry : out["history"]) context_["history"].push_back(entry);
    context_["athlete_memory"] = out["memory"];
    return out;
  }

 private:
  Json context_;
};

int64_t cache_of(const Json& out, const char* role, const char* key) { return out["cache"][role][key].get<int64_t>(); }

}  // namespace

TEST_F(ConversationCache, LaterTurnsReadOnlyWhatIsNewAndReplyAsIfTheyReadEverything) {
  struct Setup {
    const char* name;
    josi::infer::KvType kv;
    bool adapters, cache_dir;
  };
  for (const Setup& s : {Setup{"f16, prefix file", josi::infer::KvType::f16, false, true},
                         Setup{"q8_0", josi::infer::KvType::q8_0, false, false},
                         Setup{"base + adapters", josi::infer::KvType::f16, true, false}}) {
    auto o = options();
    o.kv_type = s.kv;
    if (s.adapters) o.interpreter_adapter = o.explainer_adapter = adapter();
    auto cold_options = o;
    cold_options.prefix_cache = false;
    if (s.cache_dir) o.cache_dir = dir_->path() / "prefix-cache";
    Coach coach(o), cold(cold_options);
    Athlete kept, evaluated;
    int64_t previous_prompt = 0;
    for (size_t t = 0; t < 6; ++t) {
      const Json a = kept.say(coach, kMessages[t]);
      const Json b = evaluated.say(cold, kMessages[t]);
      ASSERT_EQ(a["route"], "explainer") << s.name;
      EXPECT_EQ(a["explainer"]["raw"], b["explainer"]["raw"]) << s.name << ", turn " << t + 1;
      EXPECT_EQ(a["reply"], b["reply"]) << s.name << ", turn " << t + 1;
      EXPECT_EQ(a["explainer"]["prompt"], b["explainer"]["prompt"]) << s.name << ", turn " << t + 1;
      const int64_t prompt = a["explainer"]["prompt_tokens"].get<int64_t>();
      EXPECT_EQ(cache_of(a, "explainer", "reused") + cache_of(a, "explainer", "evaluated"), prompt);
      EXPECT_EQ(cache_of(b, "explainer", "evaluated"), prompt);
      if (t > 0) {
        // The whole previous prompt, and the reply as far as it was written as rendered.
        EXPECT_GE(cache_of(a, "explainer", "reused"), previous_prompt) << s.name << ", turn " << t + 1;
        EXPECT_LE(3 * cache_of(a, "explainer", "evaluated"), prompt) << s.name << ", turn " << t + 1;
      }
      EXPECT_EQ(cache_of(a, "explainer", "moved"), 0);
      previous_prompt = prompt;
    }
  }
}

TEST_F(ConversationCache, TurnsTheBudgetDropsMoveTheCacheInsteadOfReadingItAgain) {
  auto o = options();
  o.n_ctx = 1024;  // the oldest turns go from the fourth turn on
  auto no_shift = o;
  no_shift.cache_shift = false;
  Coach coach(o), evaluating(no_shift);
  Athlete a, b;
  const int64_t prefix = coach.prefixes()[1].tokens;
  int reusing = 0, moving = 0;
  for (size_t t = 0; t < kMessages.size(); ++t) {
    const Json out = a.say(coach, kMessages[t]);
    const Json plain = b.say(evaluating, kMessages[t]);
    ASSERT_EQ(out["route"], "explainer");
    ASSERT_FALSE(out["reply"].is_null());
    const int64_t prompt = out["explainer"]["prompt_tokens"].get<int64_t>();
    const int64_t turns = out["explainer"]["history_turns"].get<int64_t>();
    if (t > 0 && cache_of(out, "explainer", "reused") > prefix) ++reusing;
    if (cache_of(out, "explainer", "moved") > 0) {
      ++moving;
      EXPECT_LT(turns, static_cast<int64_t>(2 * t)) << "moved only where the budget dropped turns";
      EXPECT_GT(cache_of(out, "explainer", "dropped"), 0);
      EXPECT_LE(2 * cache_of(out, "explainer", "evaluated"), prompt) << "turn " << t + 1;
      // Without the move, the turn evaluates everything after the system prompt.
      EXPECT_EQ(cache_of(plain, "explainer", "moved"), 0);
      EXPECT_LE(cache_of(plain, "explainer", "reused"), prefix);
    }
    EXPECT_EQ(out["explainer"]["prompt"], plain["explainer"]["prompt"]) << "the same prompt either way";
  }
  EXPECT_GE(moving, 3);
  EXPECT_GE(reusing * 10, 8 * static_cast<int>(kMessages.size() - 1)) << reusing << " turns reused the conversation";
}

TEST_F(ConversationCache, NoReplyComesFromAStaleCache) {
  auto cold_options = options();
  cold_options.prefix_cache = false;
  Coach coach(options()), cold(cold_options);
  Athlete athlete;
  const auto same = [&](const Json& input, const Json& out, const std::string& what) {
    const Json expected = cold.turn(input);
    EXPECT_EQ(out["explainer"]["raw"], expected["explainer"]["raw"]) << what;
    EXPECT_EQ(out["reply"], expected["reply"]) << what;
  };
  const auto says = [&](Athlete& who, const std::string& message, const std::string& what) {
    const Json input = who.input(message);
    same(input, who.say(coach, message), what);
  };
  for (size_t t = 0; t < 2; ++t) says(athlete, kMessages[t], "turn " + std::to_string(t + 1));

  // Cancelled while the coach writes: the next turn is still exact.
  EXPECT_THROW(coach.turn(athlete.input(kMessages[2], 40), [&](std::string_view) { coach.cancel(); }), josi::Cancelled);
  says(athlete, kMessages[2], "after a cancel");
  // A turn that fails validation changes nothing.
  Json bad = athlete.input(kMessages[3]);
  bad["context"]["readiness"] = "green";
  EXPECT_THROW(coach.turn(bad), josi::Error);
  says(athlete, kMessages[3], "after a bad turn");
  // The app edits a reply: the turn evaluates from the edit on.
  Json edited = athlete.input(kMessages[4]);
  auto& history = edited["context"]["history"];
  history[history.size() - 1]["message"] = "Keep it easy today.";
  const Json after_edit = coach.turn(edited);
  same(edited, after_edit, "after an edited reply");
  // Another athlete, then forget(): each turn as from a fresh coach.
  Athlete other;
  says(other, "Am I ready for a hard session?", "another athlete");
  coach.forget();
  const Json after_forget = athlete.say(coach, kMessages[5]);
  EXPECT_EQ(cache_of(after_forget, "explainer", "reused"), coach.prefixes()[1].tokens);
  EXPECT_EQ(cache_of(after_forget, "interpreter", "reused"), coach.prefixes()[0].tokens);
}
