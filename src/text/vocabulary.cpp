#include "text/vocabulary.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "base/checksum.hpp"
#include "base/error.hpp"
#include "base/mapped_file.hpp"
#include "formats/gguf.hpp"
#include "json/json.hpp"

namespace josi::text {

namespace {

using json::Json;

// The Qwen2 pre-tokenizer as tokenizer.json spells it.
constexpr std::string_view kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// A bound on token ids so that a corrupt file cannot make us allocate
// gigabytes for the id table; real vocabularies stay below a million.
constexpr uint64_t kMaxTokenId = 1u << 24;

// tokenizer.json is ~11 MB, most of it model.vocab (150k keys) and
// model.merges (150k entries). A DOM of that costs well over half a second;
// this SAX handler streams those two straight into vectors and builds a DOM
// only for the small rest (added_tokens, normalizer, pre_tokenizer, options).
class TokenizerJsonReader : public nlohmann::json_sax<Json> {
 public:
  Json root;
  std::vector<std::pair<std::string, uint64_t>> vocab;
  std::vector<std::string> merges;
  bool saw_vocab = false;
  bool saw_merges = false;
  std::string problem;  // a shape error found while streaming (parsing stops)
  std::string syntax_error;

  bool null() override { return scalar(Json(nullptr)); }
  bool boolean(bool v) override { return scalar(Json(v)); }
  bool number_integer(number_integer_t v) override {
    if (top_kind() == Kind::vocab)
      return fail("model.vocab[\"" + key_ + "\"]: id " + std::to_string(v) + " out of range");
    return scalar(Json(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (top_kind() == Kind::vocab) {
      vocab.emplace_back(std::move(key_), v);
      return true;
    }
    return scalar(Json(v));
  }
  bool number_float(number_float_t v, const string_t&) override { return scalar(Json(v)); }
  bool string(string_t& v) override {
    switch (top_kind()) {
      case Kind::merges:
        merges.push_back(std::move(v));
        return true;
      case Kind::merge_pair:
        if (++stack_.back().count > 2)
          return fail("model.merges[" + std::to_string(merges.size()) + "]: expected 2 tokens");
        if (v.find(' ') != std::string::npos)
          return fail("model.merges[" + std::to_string(merges.size()) + "]: token \"" + v + "\" contains a space");
        if (stack_.back().count == 1)
          pair_ = std::move(v);
        else
          pair_ += " " + v;
        return true;
      default:
        return scalar(Json(std::move(v)));
    }
  }
  bool binary(binary_t&) override { return fail("unexpected binary value"); }

  bool start_object(std::size_t) override {
    if (in_bulk()) return bulk_shape_error("an object");
    if (at_model_key("vocab")) {
      saw_vocab = true;
      stack_.push_back({Kind::vocab, nullptr, 0});
      return true;
    }
    Json* node = place(Json::object());
    stack_.push_back({Kind::dom, node, 0});
    return true;
  }
  bool key(string_t& k) override {
    key_ = std::move(k);
    return true;
  }
  bool end_object() override {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    if (top_kind() == Kind::merges) {
      pair_.clear();
      stack_.push_back({Kind::merge_pair, nullptr, 0});
      return true;
    }
    if (in_bulk()) return bulk_shape_error("an array");
    if (at_model_key("merges")) {
      saw_merges = true;
      stack_.push_back({Kind::merges, nullptr, 0});
      return true;
    }
    Json* node = place(Json::array());
    stack_.push_back({Kind::dom, node, 0});
    return true;
  }
  bool end_array() override {
    if (top_kind() == Kind::merge_pair) {
      if (stack_.back().count != 2)
        return fail("model.merges[" + std::to_string(merges.size()) + "]: expected 2 tokens");
      merges.push_back(std::move(pair_));
      pair_.clear();
    }
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    std::string reason = e.what();
    // nlohmann prefixes "[json.exception.parse_error.101] "; keep what follows.
    if (auto pos = reason.find("] "); pos != std::string::npos) reason = reason.substr(pos + 2);
    syntax_error = reason;
    return false;
  }

 private:
  enum class Kind { dom, vocab, merges, merge_pair };
  struct Frame {
    Kind kind;
    Json* node;
    int count;
  };
  std::vector<Frame> stack_;
  std::string key_;
  std::string pair_;

  Kind top_kind() const { return stack_.empty() ? Kind::dom : stack_.back().kind; }
  bool in_bulk() const { return top_kind() != Kind::dom; }

  // True when the next value is root["model"][k].
  bool at_model_key(const char* k) const {
    if (stack_.size() != 2 || key_ != k || !stack_[0].node->is_object() || !stack_[1].node->is_object()) return false;
    auto model = stack_[0].node->find("model");
    return model != stack_[0].node->end() && &*model == stack_[1].node;
  }

  Json* place(Json value) {
    if (stack_.empty()) {
      root = std::move(value);
      return &root;
    }
    Json* parent = stack_.back().node;
    if (parent->is_object()) {
      Json& slot = (*parent)[key_];
      slot = std::move(value);
      return &slot;
    }
    parent->push_back(std::move(value));
    return &parent->back();
  }
  bool scalar(Json value) {
    if (in_bulk()) return bulk_shape_error(json::type_name(value) == "null" ? "null" : "a " + json::type_name(value));
    place(std::move(value));
    return true;
  }
  bool bulk_shape_error(const std::string& what) {
    switch (top_kind()) {
      case Kind::vocab:
        return fail("model.vocab[\"" + key_ + "\"]: expected an integer id, got " + what);
      case Kind::merges:
        return fail("model.merges[" + std::to_string(merges.size()) + "]: expected \"a b\" or [a, b], got " + what);
      default:
        return fail("model.merges[" + std::to_string(merges.size()) + "]: expected a token string, got " + what);
    }
  }
  bool fail(std::string message) {
    problem = std::move(message);
    return false;
  }
};

// Lenient typed reads: a missing key or a value of another type gives the
// default, so a malformed file is refused by the shape checks, not by a
// library exception.
std::string str(const Json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}
std::optional<bool> flag(const Json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end() || !it->is_boolean()) return std::nullopt;
  return it->get<bool>();
}

std::string describe(const Json& value) {
  if (value.is_string()) return "\"" + value.get<std::string>() + "\"";
  return value.dump();
}

// The pre-tokenizer shape Qwen2's tokenizer.json carries: Split(regex,
// Isolated) then ByteLevel without its own regex. Anything else would split
// text differently from what this tokenizer does, so it is refused.
bool is_qwen2_pre_tokenizer(const Json& pre) {
  if (str(pre, "type") != "Sequence") return false;
  auto list = pre.find("pretokenizers");
  if (list == pre.end() || !list->is_array() || list->size() != 2) return false;
  const Json& split = (*list)[0];
  const Json& bytes = (*list)[1];
  if (str(split, "type") != "Split" || str(split, "behavior") != "Isolated" || flag(split, "invert").value_or(false))
    return false;
  auto pattern = split.find("pattern");
  if (pattern == split.end() || str(*pattern, "Regex") != kQwen2Regex) return false;
  return str(bytes, "type") == "ByteLevel" && flag(bytes, "add_prefix_space") == false &&
         flag(bytes, "use_regex") == false;
}

// BPE options this tokenizer does not implement must hold their defaults.
void check_model_options(const Json& model, const std::string& file) {
  auto refuse = [&](const std::string& key, const Json& v) {
    throw Error(file + ": model." + key + " = " + describe(v) + " is not supported (byte-level BPE without it only)");
  };
  for (const char* key : {"dropout", "unk_token"})
    if (auto it = model.find(key); it != model.end() && !it->is_null()) refuse(key, *it);
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (auto it = model.find(key); it != model.end() && !it->is_null() && *it != "") refuse(key, *it);
  for (const char* key : {"fuse_unk", "byte_fallback", "ignore_merges"})
    if (auto it = model.find(key); it != model.end() && !it->is_null() && *it != false) refuse(key, *it);
}

// Token rows by id while they are being collected; `filled` marks the ids seen.
struct Rows {
  std::vector<std::string> tokens;
  std::vector<TokenType> types;
  std::vector<bool> filled;
  void grow(size_t size) {
    if (tokens.size() >= size) return;
    tokens.resize(size);
    types.resize(size, TokenType::normal);
    filled.resize(size, false);
  }
};

void fill_added(Vocabulary& v, const Json& root, const std::string& file, Rows& rows) {
  auto list = root.find("added_tokens");
  if (list == root.end() || list->is_null()) return;
  if (!list->is_array()) throw Error(file + ": added_tokens: expected an array");
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& t = (*list)[i];
    const std::string where = file + ": added_tokens[" + std::to_string(i) + "]";
    if (!t.is_object()) throw Error(where + ": expected an object");
    auto id = t.find("id");
    auto content = t.find("content");
    if (id == t.end() || !id->is_number_unsigned() || id->get<uint64_t>() >= kMaxTokenId)
      throw Error(where + ": missing or out-of-range id");
    if (content == t.end() || !content->is_string() || content->get<std::string>().empty())
      throw Error(where + ": missing content");
    // These flags change where a token matches; the Qwen files leave them
    // off, and matching them would need more than this tokenizer does.
    for (const char* flag_name : {"lstrip", "rstrip", "single_word", "normalized"})
      if (flag(t, flag_name).value_or(false))
        throw Error(where + ": \"" + std::string(flag_name) + "\": true is not supported");
    AddedToken token;
    token.id = static_cast<int32_t>(id->get<uint64_t>());
    token.content = content->get<std::string>();
    token.special = flag(t, "special").value_or(false);
    const TokenType type = token.special ? TokenType::control : TokenType::user_defined;
    rows.grow(static_cast<size_t>(token.id) + 1);
    if (rows.filled[token.id] && rows.tokens[token.id] != token.content)
      throw Error(file + ": duplicate id " + std::to_string(token.id) + " (\"" + rows.tokens[token.id] + "\" and \"" +
                  token.content + "\")");
    // An added token that repeats a vocabulary entry (same id and text) is
    // allowed, as the Hugging Face library allows it.
    rows.tokens[token.id] = token.content;
    rows.types[token.id] = type;
    rows.filled[token.id] = true;
    v.added.push_back(std::move(token));
  }
  std::sort(v.added.begin(), v.added.end(), [](const AddedToken& a, const AddedToken& b) { return a.id < b.id; });
  for (size_t i = 1; i < v.added.size(); ++i)
    if (v.added[i].id == v.added[i - 1].id)
      throw Error(file + ": duplicate id " + std::to_string(v.added[i].id) + " in added_tokens");
}

}  // namespace

Vocabulary vocabulary_from_tokenizer_json(const std::filesystem::path& path) {
  const std::string file = path.string();
  const base::MappedFile map(path);
  const char* begin = reinterpret_cast<const char*>(map.data());
  TokenizerJsonReader reader;
  bool ok = Json::sax_parse(begin, begin + map.size(), &reader);
  if (!reader.problem.empty()) throw Error(file + ": " + reader.problem);
  if (!ok || !reader.syntax_error.empty()) throw Error(file + ": invalid JSON: " + reader.syntax_error);
  const Json& root = reader.root;
  if (!root.is_object()) throw Error(file + ": expected a tokenizer.json object, got " + json::type_name(root));
  auto model = root.find("model");
  if (model == root.end() || !model->is_object()) throw Error(file + ": missing \"model\" object");
  const std::string type = str(*model, "type");
  if (type != "BPE")
    throw Error(file + ": model.type is " + (type.empty() ? std::string("missing") : "\"" + type + "\"") +
                ", expected \"BPE\"");
  if (!reader.saw_vocab) throw Error(file + ": missing model.vocab object");
  if (!reader.saw_merges) throw Error(file + ": missing model.merges array");
  check_model_options(*model, file);

  auto normalizer = root.find("normalizer");
  if (normalizer == root.end() || str(*normalizer, "type") != "NFC")
    throw Error(file + ": normalizer " + (normalizer == root.end() ? std::string("missing") : describe(*normalizer)) +
                " is not supported (expected {\"type\": \"NFC\"})");
  auto pre = root.find("pre_tokenizer");
  if (pre == root.end() || !is_qwen2_pre_tokenizer(*pre))
    throw Error(file + ": unknown pre_tokenizer (only Qwen2's Split regex + ByteLevel sequence is supported)");

  Vocabulary v;
  v.pre = "qwen2";
  Rows rows;
  uint64_t max_id = 0;
  for (const auto& [token, id] : reader.vocab) max_id = std::max(max_id, id);
  if (max_id >= kMaxTokenId) throw Error(file + ": model.vocab: id " + std::to_string(max_id) + " out of range");
  rows.grow(reader.vocab.empty() ? 0 : max_id + 1);
  for (auto& [token, id] : reader.vocab) {
    if (rows.filled[id])
      throw Error(file + ": duplicate id " + std::to_string(id) + " (\"" + rows.tokens[id] + "\" and \"" + token +
                  "\")");
    rows.tokens[id] = std::move(token);
    rows.filled[id] = true;
  }
  fill_added(v, root, file, rows);
  for (size_t id = 0; id < rows.tokens.size(); ++id)
    if (!rows.filled[id]) throw Error(file + ": no token has id " + std::to_string(id) + " (ids must be contiguous)");
  v.tokens = std::move(rows.tokens);
  v.types = std::move(rows.types);
  v.merges = std::move(reader.merges);
  return v;
}

const char* const kGgufVocabularyArrays[3] = {"tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
                                               "tokenizer.ggml.merges"};

uint64_t fingerprint(const Vocabulary& v) {
  base::Checksum sum;
  const auto text = [&](std::string_view t) {
    const uint64_t n = t.size();
    sum.update(&n, sizeof(n));
    sum.update(t);
  };
  text(v.pre);
  for (const auto& t : v.tokens) text(t);
  for (const auto type : v.types) sum.update(&type, sizeof(type));
  for (const auto& m : v.merges) text(m);
  return sum.value();
}

Vocabulary vocabulary_from_gguf(const formats::GgufFile& file) {
  const std::string name = file.path().string();
  // The reader's typed accessors name the key; add the file.
  auto in_file = [&](auto&& get) {
    try {
      return get();
    } catch (const Error& e) {
      std::string message = e.what();
      if (message.rfind(name, 0) == 0) throw;
      throw Error(name + ": " + message, e.code());
    }
  };
  auto string_key = [&](const std::string& key) { return in_file([&] { return file.at(key).as_string(key); }); };
  const std::string model = string_key("tokenizer.ggml.model");
  if (model != "gpt2")
    throw Error(name + ": tokenizer.ggml.model is \"" + model + "\", expected \"gpt2\" (byte-level BPE)");
  const std::string pre = string_key("tokenizer.ggml.pre");
  if (pre != "qwen2") throw Error(name + ": tokenizer.ggml.pre is \"" + pre + "\", expected \"qwen2\"");

  Vocabulary v;
  v.pre = pre;
  in_file([&] {
    const std::string tokens_key = kGgufVocabularyArrays[0];
    const std::string types_key = kGgufVocabularyArrays[1];
    const std::string merges_key = kGgufVocabularyArrays[2];
    const auto& tokens = file.at(tokens_key).as_array(tokens_key).elements;
    const auto& types = file.at(types_key).as_array(types_key).elements;
    const auto& merges = file.at(merges_key).as_array(merges_key).elements;
    if (tokens.size() != types.size())
      throw Error(types_key + ": " + std::to_string(types.size()) + " types for " + std::to_string(tokens.size()) +
                  " tokens");
    if (tokens.size() >= kMaxTokenId) throw Error(tokens_key + ": too many tokens");
    v.tokens.reserve(tokens.size());
    v.types.reserve(tokens.size());
    for (size_t id = 0; id < tokens.size(); ++id) {
      const std::string key = tokens_key + "[" + std::to_string(id) + "]";
      v.tokens.push_back(tokens[id].as_string(key));
      const int64_t type = types[id].as_int(types_key + "[" + std::to_string(id) + "]");
      switch (type) {
        case 1:
          v.types.push_back(TokenType::normal);
          break;
        case 3:
        case 4: {
          v.types.push_back(static_cast<TokenType>(type));
          if (v.tokens.back().empty()) throw Error(key + ": empty added token");
          v.added.push_back({static_cast<int32_t>(id), v.tokens.back(), type == 3});
          break;
        }
        case 5:
          v.types.push_back(TokenType::unused);
          break;
        default:
          throw Error(types_key + "[" + std::to_string(id) + "]: token type " + std::to_string(type) +
                      " is not supported (byte-level BPE uses 1 normal, 3 control, 4 user-defined, 5 unused)");
      }
    }
    v.merges.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i)
      v.merges.push_back(merges[i].as_string(merges_key + "[" + std::to_string(i) + "]"));
    return 0;
  });
  return v;
}

}  // namespace josi::text
