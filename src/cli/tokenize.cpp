// josi tokenize --tokenizer FILE [--special] [--ids|--count] [--jsonl] TEXT|-
// Token ids of a text with the model's tokenizer (tokenizer.json or the
// metadata of a .gguf model file).
#include <iostream>
#include <iterator>

#include "base/error.hpp"
#include "cli/commands.hpp"
#include "cli/jsonl_filter.hpp"
#include "cli/options.hpp"
#include "json/json.hpp"
#include "text/tokenizer.hpp"

namespace josi::cli {

namespace {

enum class Output { json, ids, count };

std::string format(const std::vector<int32_t>& ids, Output output) {
  if (output == Output::count) return std::to_string(ids.size());
  std::string out = output == Output::json ? "[" : "";
  const char* separator = output == Output::json ? ", " : " ";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += separator;
    out += std::to_string(ids[i]);
  }
  if (output == Output::json) out += "]";
  return out;
}

// One JSON string per line in, one result per line out: the coach filters' contract.
int tokenize_lines(const text::Tokenizer& tokenizer, const std::string& input, bool special, Output output) {
  return run_jsonl_lines("tokenize", input, [&](const json::Json& value) {
    if (!value.is_string()) throw Error("expected a JSON string, got " + json::type_name(value));
    return format(tokenizer.encode(value.get<std::string>(), special), output);
  });
}

}  // namespace

void register_tokenize(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "Token ids of a text (default: a JSON array of ids)");
  struct Options {
    std::string tokenizer;
    std::string text;
    bool special = false;
    bool ids = false;
    bool count = false;
    bool jsonl = false;
  };
  auto opts = std::make_shared<Options>();
  cmd->add_option(flag("tokenizer"), opts->tokenizer, "tokenizer.json, or a .gguf model file")->required();
  cmd->add_option("text", opts->text,
                  "The text, or - for standard input (read as is, a final line break included); "
                  "with --jsonl a file of JSON strings, one per line, or -")
      ->required();
  cmd->add_flag(flag("special"), opts->special,
                "Turn special-token text such as <|im_start|> into its token (off: it is plain text)");
  auto* ids = cmd->add_flag(flag("ids"), opts->ids, "Print the ids separated by spaces");
  auto* count = cmd->add_flag(flag("count"), opts->count, "Print only the number of tokens");
  ids->excludes(count);
  cmd->add_flag(flag("jsonl"), opts->jsonl,
                "Each input line is a JSON string; print one result line per input line, in order");
  cmd->callback([opts] {
    const auto tokenizer = text::Tokenizer::load(opts->tokenizer);
    const Output output = opts->count ? Output::count : opts->ids ? Output::ids : Output::json;
    if (opts->jsonl) {
      set_exit_code(tokenize_lines(tokenizer, opts->text, opts->special, output));
      return;
    }
    std::string text = opts->text;
    if (text == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      if (std::cin.bad()) throw Error("<stdin>: read failed", ExitCode::io);
    }
    std::cout << format(tokenizer.encode(text, opts->special), output) << "\n";
  });
}

}  // namespace josi::cli
