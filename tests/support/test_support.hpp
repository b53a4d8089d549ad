#pragma once
// Helpers for the tests: where things are, and running the josi binary.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "json/json.hpp"

namespace josi::formats {
class GgufWriter;
}

namespace josi::test {

std::filesystem::path source_dir();
std::filesystem::path shared_dir();
std::filesystem::path reference_data(const std::string& name);  // ../shared/reference/mivalta-v5/data/<name>
std::filesystem::path reference_dir();                          // ../shared/reference/mivalta-v5
std::filesystem::path reference_v7(const std::string& path);    // ../shared/reference/mivalta-v7/<path>

// A user message of the users' v7 data with exactly one [KNOWLEDGE] block of
// the selector's shape ("\n\n[KNOWLEDGE]\n\n..." up to "\n\n[INTERPRETER]" or
// the end): the message without it, and the block; nullopt for none or two.
struct SelectorBlock {
  std::string stripped, block;
  bool before_interpreter = false;
};
std::optional<SelectorBlock> single_selector_block(const std::string& message);

// The npm test peers (scripts/test.sh installs them): the Hugging Face
// tokenizers library and the real Qwen tokenizer.json. Tests that need them
// fail with a message naming the missing path rather than skipping.
std::filesystem::path npm_dir();
std::filesystem::path qwen_tokenizer_json();

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Lines josi itself wrote on stderr (errors, warnings, retry notes), not progress.
size_t josi_lines(const std::string& err);

// Runs `josi <args...>` with `input` on standard input.
RunResult run_josi(const std::vector<std::string>& args, const std::string& input = "");

// `josi chat --jsonl --threads 2 <flags>` on `turns`, one per line: the run
// and each output line parsed.
struct ChatRun {
  RunResult run;
  std::vector<json::Json> results;
};
ChatRun chat_jsonl(const std::vector<std::string>& flags, const std::vector<json::Json>& turns);

// Runs `node -e <script>` with the npm peers on NODE_PATH and `input` on stdin.
RunResult run_node(const std::string& script, const std::string& input = "");

// A fresh empty directory, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

std::string read_text(const std::filesystem::path& path);

// A dozen interpreter examples (JSONL): four sports x three durations. Each
// user turn repeats its two cues, so the tiny random base (two layers, no
// trained attention) can route them to the answer within a few dozen steps.
std::string dozen_interpreter_examples();

// Copies a GGUF file with edits: each tensor's name and dims may change (or it
// may be dropped with keep = false), and the metadata may be changed.
void rewrite_gguf(const std::filesystem::path& in, const std::filesystem::path& out,
                  const std::function<void(std::string& name, std::vector<uint64_t>& dims, bool& keep)>& edit_tensor,
                  const std::function<void(formats::GgufWriter&)>& edit_metadata = {});
void write_text(const std::filesystem::path& path, const std::string& text);

// A PEFT adapter directory on the model directory `base` with random A and
// B (B is zero when training starts; here it is not, so the adapter moves
// the logits a lot): r 8 on the seven projections of every layer, alpha 16.
void write_random_adapter(const std::filesystem::path& base, const std::filesystem::path& dir, uint32_t seed = 11);

// `josi train ARGS...` twice, into DIR/whole and into DIR/cut, the second
// killed once checkpoint-KILL_AT is on disk and then resumed: a resumed run
// must refuse new settings, and end with the same metrics, adapter and
// summary as the whole one.
void expect_killed_run_resumes(const std::vector<std::string>& train_args, const std::filesystem::path& dir,
                               int kill_at);

}  // namespace josi::test
