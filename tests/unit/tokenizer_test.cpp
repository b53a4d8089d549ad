// The byte-level BPE tokenizer on small hand-made vocabularies: merges by
// rank, the byte alphabet, added tokens on and off, decoding, streaming,
// tokenizer.json errors, and the `josi tokenize` command. Parity with the
// Hugging Face library on the real Qwen vocabulary is in
// tests/integration/tokenizer_parity_test.cpp.
#include "text/tokenizer.hpp"

#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "base/error.hpp"
#include "json/json.hpp"
#include "support/test_support.hpp"

using josi::json::Json;
using josi::test::run_josi;
using josi::test::TempDir;
using josi::test::write_text;
using josi::text::AddedToken;
using josi::text::Tokenizer;
using josi::text::TokenType;
using josi::text::Vocabulary;

namespace {

// GPT-2's byte-to-unicode alphabet, written out from its definition.
std::string byte_level(std::string_view raw) {
  std::string out;
  for (unsigned char b : raw) {
    char32_t cp = b;
    bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    if (!printable) {
      cp = 0x100;
      for (int x = 0; x < b; ++x)
        if (!((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE))) ++cp;
    }
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

// Tokens 0..255 are the single bytes (id = byte value); each merge (a, b)
// adds the token a+b in order; added tokens come last.
struct Tiny {
  using Merges = std::vector<std::pair<std::string, std::string>>;
  using Added = std::vector<std::pair<std::string, bool>>;  // content, special
  Merges merges;
  Added added;
  size_t padding = 0;  // unused rows after everything

  Tiny() = default;
  explicit Tiny(Merges m, Added a = {}) : merges(std::move(m)), added(std::move(a)) {}

  Vocabulary vocabulary() const {
    Vocabulary v;
    v.pre = "qwen2";
    for (int b = 0; b < 256; ++b) {
      v.tokens.push_back(byte_level(std::string(1, static_cast<char>(b))));
      v.types.push_back(TokenType::normal);
    }
    for (const auto& [a, b] : merges) {
      v.merges.push_back(byte_level(a) + " " + byte_level(b));
      v.tokens.push_back(byte_level(a + b));
      v.types.push_back(TokenType::normal);
    }
    for (const auto& [content, special] : added) {
      v.added.push_back({static_cast<int32_t>(v.tokens.size()), content, special});
      v.tokens.push_back(content);
      v.types.push_back(special ? TokenType::control : TokenType::user_defined);
    }
    for (size_t i = 0; i < padding; ++i) {
      v.tokens.push_back("[PAD" + std::to_string(v.tokens.size()) + "]");
      v.types.push_back(TokenType::unused);
    }
    return v;
  }
  Tokenizer tokenizer() const { return Tokenizer(vocabulary()); }
  // The id of the token made by merge i.
  static int32_t merged(size_t i) { return static_cast<int32_t>(256 + i); }
};

std::vector<int32_t> bytes_of(std::string_view s) {
  std::vector<int32_t> ids;
  for (unsigned char c : s) ids.push_back(c);
  return ids;
}

// The textbook BPE (merge the lowest-ranked adjacent pair, leftmost first)
// on one pre-tokenizer piece, as an independent reference.
std::vector<std::string> reference_bpe(const std::string& word,
                                       const std::vector<std::pair<std::string, std::string>>& merges) {
  std::vector<std::string> symbols;
  for (char c : word) symbols.emplace_back(1, c);
  while (symbols.size() > 1) {
    size_t best_rank = merges.size(), best = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i)
      for (size_t r = 0; r < best_rank; ++r)
        if (merges[r].first == symbols[i] && merges[r].second == symbols[i + 1]) {
          best_rank = r;
          best = i;
          break;
        }
    if (best_rank == merges.size()) break;
    symbols[best] += symbols[best + 1];
    symbols.erase(symbols.begin() + static_cast<long>(best) + 1);
  }
  return symbols;
}

constexpr const char* kQwenRegex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

Json tokenizer_json(const Vocabulary& v, bool pair_merges = false) {
  Json vocab = Json::object();
  Json added = Json::array();
  for (size_t id = 0; id < v.tokens.size(); ++id)
    if (v.types[id] == TokenType::normal) vocab[v.tokens[id]] = id;
  for (const auto& a : v.added)
    added.push_back({{"id", a.id},
                     {"content", a.content},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", a.special}});
  Json merges = Json::array();
  for (const auto& m : v.merges) {
    if (pair_merges)
      merges.push_back(Json::array({m.substr(0, m.find(' ')), m.substr(m.find(' ') + 1)}));
    else
      merges.push_back(m);
  }
  return {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         Json::array(
             {{{"type", "Split"}, {"pattern", {{"Regex", kQwenRegex}}}, {"behavior", "Isolated"}, {"invert", false}},
              {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}})}}},
      {"post_processor",
       {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", ""},
        {"end_of_word_suffix", ""},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", false},
        {"vocab", vocab},
        {"merges", merges}}}};
}

// "hello" is merge 3; " the" is merge 6.
const Tiny kChat{{{"l", "l"}, {"e", "ll"}, {"h", "ell"}, {"hell", "o"}, {" ", "t"}, {"h", "e"}, {" t", "he"}},
                 {{"<|im_start|>", true}, {"<|im_end|>", true}, {"<tool>", false}, {"<tool>x", false}}};

// ---------------------------------------------------------------------------

TEST(Tokenizer, MergesApplyByRankNotByPosition) {
  // "abc" with b+c ranked before a+b: a | bc.
  Tokenizer bc_first = Tiny{{{"b", "c"}, {"a", "b"}}}.tokenizer();
  EXPECT_EQ(bc_first.encode("abc"), (std::vector<int32_t>{'a', Tiny::merged(0)}));
  // The other order: ab | c.
  Tokenizer ab_first = Tiny{{{"a", "b"}, {"b", "c"}}}.tokenizer();
  EXPECT_EQ(ab_first.encode("abc"), (std::vector<int32_t>{Tiny::merged(0), 'c'}));
  // Equal pairs merge leftmost first: aaa -> aa | a. With aa+a ranked later,
  // aaaaa first becomes aa | aa | a, and only then aa | aaa.
  Tokenizer aa = Tiny{{{"a", "a"}}}.tokenizer();
  EXPECT_EQ(aa.encode("aaa"), (std::vector<int32_t>{Tiny::merged(0), 'a'}));
  Tokenizer aaa = Tiny{{{"a", "a"}, {"aa", "a"}}}.tokenizer();
  EXPECT_EQ(aaa.encode("aaaaa"), (std::vector<int32_t>{Tiny::merged(0), Tiny::merged(1)}));
}

TEST(Tokenizer, MergesNeverCrossPreTokenizerPieces) {
  Tokenizer t = Tiny{{{"a", " "}, {" ", "b"}}}.tokenizer();
  // "a b" splits into "a" and " b": the a+space merge cannot apply.
  EXPECT_EQ(t.encode("a b"), (std::vector<int32_t>{'a', Tiny::merged(1)}));
  // Contractions, numbers one digit at a time, punctuation runs with their line breaks.
  Tokenizer plain = Tiny().tokenizer();
  EXPECT_EQ(plain.decode(plain.encode("I'LL 2026!!\n")), "I'LL 2026!!\n");
}

TEST(Tokenizer, LongWordsMergeLikeShortOnes) {
  // Words past the linear-scan limit take the heap path; both must agree
  // with the textbook algorithm.
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"a", "b"},   {"b", "a"},   {"a", "a"},     {"ab", "a"},  {"b", "b"},  {"aa", "b"},
      {"ab", "ab"}, {"ba", "ba"}, {"abab", "ab"}, {"aa", "aa"}, {"bb", "a"}, {"aab", "ab"}};
  Tiny tiny(merges);
  Tokenizer t = tiny.tokenizer();
  std::map<std::string, int32_t> id_of;
  for (int b = 0; b < 256; ++b) id_of[std::string(1, static_cast<char>(b))] = b;
  for (size_t i = 0; i < merges.size(); ++i) id_of[merges[i].first + merges[i].second] = Tiny::merged(i);
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::string word;
    const size_t length = 1 + rng() % 300;
    for (size_t i = 0; i < length; ++i) word += "ab"[rng() % 2];
    std::vector<int32_t> expected;
    for (const auto& s : reference_bpe(word, merges)) expected.push_back(id_of.at(s));
    ASSERT_EQ(t.encode(word), expected) << word;
  }
}

TEST(Tokenizer, EveryByteHasAToken) {
  Tokenizer t = Tiny().tokenizer();
  // Space, line break, NUL and DEL live in the shifted part of the alphabet;
  // é is two bytes, each its own token without merges.
  EXPECT_EQ(t.encode(std::string("x\0y", 3)), (std::vector<int32_t>{'x', 0, 'y'}));
  EXPECT_EQ(t.encode("\xC3\xA9"), (std::vector<int32_t>{0xC3, 0xA9}));
  EXPECT_EQ(t.token_text(' '), "\xC4\xA0");   // Ġ
  EXPECT_EQ(t.token_text('\n'), "\xC4\x8A");  // Ċ
  EXPECT_EQ(t.token_text(0xAD), "\xC5\x83");  // soft hyphen -> Ń
  EXPECT_EQ(t.token_id("\xC4\xA0"), ' ');
  EXPECT_EQ(t.token_id("!"), '!');
  EXPECT_FALSE(t.token_id("zz").has_value());
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  EXPECT_EQ(t.decode(bytes_of(all)), all);
}

TEST(Tokenizer, NormalisesToNfc) {
  Tokenizer t = Tiny().tokenizer();
  // e + combining acute becomes é before tokenising.
  EXPECT_EQ(t.encode("e\xCC\x81"), (std::vector<int32_t>{0xC3, 0xA9}));
  EXPECT_EQ(t.decode(t.encode("Cafe\xCC\x81 na\xC3\xAFve")), "Caf\xC3\xA9 na\xC3\xAFve");
  // Broken UTF-8 is not an error: its bytes are tokens like any others.
  const std::string broken = "ok \xFF\xC3 e\xCC\x81";
  EXPECT_EQ(t.decode(t.encode(broken)), "ok \xFF\xC3 \xC3\xA9");
}

TEST(Tokenizer, AddedTokensOnlyWhenAllowed) {
  Tokenizer t = kChat.tokenizer();
  const int32_t start = *t.token_id("<|im_start|>");
  const int32_t end = *t.token_id("<|im_end|>");
  const int32_t tool = *t.token_id("<tool>");
  const int32_t toolx = *t.token_id("<tool>x");
  EXPECT_TRUE(t.is_control(start));
  EXPECT_FALSE(t.is_control(tool));
  EXPECT_FALSE(t.is_control(' '));

  const std::string text = "<|im_start|>hello<|im_end|> <tool>x<tool>y";
  const auto allowed = t.encode(text, true);
  const int32_t hello = Tiny::merged(3);
  // Longest match wins at a position (<tool>x over <tool>).
  EXPECT_EQ(allowed, (std::vector<int32_t>{start, hello, end, ' ', toolx, tool, 'y'}));
  EXPECT_EQ(t.decode(allowed), text);

  const auto plain = t.encode(text);
  for (int32_t id : plain) EXPECT_LT(id, start) << "added token id in plain encoding";
  EXPECT_EQ(t.decode(plain), text);
  EXPECT_EQ(t.count(text), plain.size());
  EXPECT_EQ(t.count(text, true), allowed.size());
}

TEST(Tokenizer, DecodeAndPadding) {
  Tiny tiny = kChat;
  tiny.padding = 3;
  Tokenizer t = tiny.tokenizer();
  const int32_t pad = static_cast<int32_t>(t.vocab_size()) - 1;
  EXPECT_EQ(t.token_text(pad), "[PAD" + std::to_string(pad) + "]");
  EXPECT_FALSE(t.token_id(t.token_text(pad)).has_value());
  EXPECT_EQ(t.decode({'a', pad, 'b'}), "ab");  // padding rows decode to nothing
  EXPECT_THROW(t.decode({static_cast<int32_t>(t.vocab_size())}), josi::Error);
  EXPECT_THROW(t.decode({-1}), josi::Error);
  EXPECT_THROW(t.token_text(-1), josi::Error);
  EXPECT_EQ(t.decode({}), "");
  EXPECT_TRUE(t.encode("").empty());
}

TEST(Tokenizer, StreamDecoderHoldsBackIncompleteUtf8) {
  // 😀 is F0 9F 98 80; with the merge 9F+98 it arrives as three tokens.
  Tokenizer t = Tiny{{{"\x9F", "\x98"}}}.tokenizer();
  const auto ids = t.encode("a\xF0\x9F\x98\x80 b");
  ASSERT_EQ(ids, (std::vector<int32_t>{'a', 0xF0, Tiny::merged(0), 0x80, ' ', 'b'}));
  Tokenizer::StreamDecoder stream(t);
  EXPECT_EQ(stream.push(ids[0]), "a");
  EXPECT_EQ(stream.push(ids[1]), "");
  EXPECT_EQ(stream.push(ids[2]), "");
  EXPECT_EQ(stream.push(ids[3]), "\xF0\x9F\x98\x80");
  EXPECT_EQ(stream.push(ids[4]), " ");
  EXPECT_EQ(stream.push(ids[5]), "b");
  EXPECT_EQ(stream.flush(), "");

  // What can never complete goes out at once; a cut-off tail comes out on flush.
  Tokenizer::StreamDecoder broken(t);
  EXPECT_EQ(broken.push(0xFF), "\xFF");
  EXPECT_EQ(broken.push(0xE2), "");
  EXPECT_EQ(broken.push(0x82), "");
  EXPECT_EQ(broken.push('x'), "\xE2\x82x");  // the sequence broke off: pass the bytes on
  EXPECT_EQ(broken.push(0xED), "");
  EXPECT_EQ(broken.push(0xA0), "\xED\xA0");  // a surrogate would follow: never valid
  EXPECT_EQ(broken.push(0xF0), "");
  EXPECT_EQ(broken.flush(), "\xF0");
}

TEST(Tokenizer, ConcurrentCallersAgree) {
  // encode is const and shared: the learned whole-word flags are atomics and
  // the regex scratch space is per thread.
  const Tokenizer t = kChat.tokenizer();
  std::vector<std::string> texts;
  std::mt19937 rng(3);
  const std::vector<std::string> parts = {"hello", " there", "\n\n", "hell", "o", "<|im_end|>", "\xC3\xA9", " ", "the"};
  for (int i = 0; i < 400; ++i) {
    std::string s;
    for (int k = 0; k < 12; ++k) s += parts[rng() % parts.size()];
    texts.push_back(s);
  }
  std::vector<std::vector<int32_t>> expected;
  {
    const Tokenizer fresh = kChat.tokenizer();
    for (const auto& s : texts) expected.push_back(fresh.encode(s, true));
  }
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int w = 0; w < 4; ++w)
    threads.emplace_back([&, w] {
      for (int round = 0; round < 5; ++round)
        for (size_t i = 0; i < texts.size(); ++i)
          if (t.encode(texts[(i + w * 97) % texts.size()], true) != expected[(i + w * 97) % texts.size()])
            ++mismatches[w];
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(Tokenizer, VocabularyErrors) {
  Vocabulary bad_pre = Tiny().vocabulary();
  bad_pre.pre = "llama3";
  EXPECT_THROW(Tokenizer{bad_pre}, josi::Error);

  Vocabulary missing_byte = Tiny().vocabulary();
  missing_byte.types['x'] = TokenType::unused;
  EXPECT_THROW(Tokenizer{missing_byte}, josi::Error);

  Vocabulary bad_merge = Tiny{{{"a", "b"}}}.vocabulary();
  bad_merge.merges.push_back("q z");  // "qz" is not a token
  try {
    Tokenizer t{bad_merge};
    FAIL();
  } catch (const josi::Error& e) {
    EXPECT_NE(std::string(e.what()).find("merge 1"), std::string::npos) << e.what();
  }

  Vocabulary duplicate = Tiny().vocabulary();
  duplicate.tokens.push_back("a");
  duplicate.types.push_back(TokenType::normal);
  EXPECT_THROW(Tokenizer{duplicate}, josi::Error);

  Vocabulary not_byte_level = Tiny().vocabulary();
  not_byte_level.tokens.push_back("\xE4\xBD\xA0");  // 你 is not in the byte alphabet
  not_byte_level.types.push_back(TokenType::normal);
  EXPECT_THROW(Tokenizer{not_byte_level}, josi::Error);
}

// ---------------------------------------------------------------------------
// tokenizer.json

class TokenizerJson : public ::testing::Test {
 protected:
  TempDir dir;
  std::filesystem::path write(const std::string& name, const std::string& text) {
    auto path = dir / name;
    write_text(path, text);
    return path;
  }
  // The error message of loading `path`, which must be one line naming it.
  std::string load_error(const std::filesystem::path& path) {
    try {
      Tokenizer::load(path);
    } catch (const josi::Error& e) {
      std::string message = e.what();
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      EXPECT_EQ(message.rfind(path.string(), 0), 0u) << message;
      return message;
    }
    ADD_FAILURE() << "loaded " << path;
    return "";
  }
};

TEST_F(TokenizerJson, LoadsWhatItWasWrittenFrom) {
  const Vocabulary v = kChat.vocabulary();
  for (bool pairs : {false, true}) {
    auto path = write(pairs ? "pairs.json" : "strings.json", tokenizer_json(v, pairs).dump(2));
    Vocabulary read = josi::text::vocabulary_from_tokenizer_json(path);
    EXPECT_EQ(read.tokens, v.tokens);
    EXPECT_EQ(read.types, v.types);
    EXPECT_EQ(read.merges, v.merges);
    EXPECT_EQ(read.pre, "qwen2");
    ASSERT_EQ(read.added.size(), v.added.size());
    for (size_t i = 0; i < v.added.size(); ++i) {
      EXPECT_EQ(read.added[i].id, v.added[i].id);
      EXPECT_EQ(read.added[i].content, v.added[i].content);
      EXPECT_EQ(read.added[i].special, v.added[i].special);
    }
    Tokenizer t = Tokenizer::load(path);
    EXPECT_EQ(t.encode("<|im_start|>hello", true), kChat.tokenizer().encode("<|im_start|>hello", true));
  }
}

TEST_F(TokenizerJson, ErrorsNameTheFile) {
  const Json good = tokenizer_json(kChat.vocabulary());
  EXPECT_NE(load_error(dir / "missing.json").find("cannot open"), std::string::npos);
  EXPECT_NE(load_error(write("garbage.json", "{\"model\": [1, 2")).find("invalid JSON"), std::string::npos);
  EXPECT_NE(load_error(write("empty.json", "")).find("invalid JSON"), std::string::npos);
  EXPECT_NE(load_error(write("array.json", "[]")).find("expected a tokenizer.json object"), std::string::npos);

  Json wordpiece = good;
  wordpiece["model"]["type"] = "WordPiece";
  EXPECT_NE(load_error(write("wordpiece.json", wordpiece.dump())).find("expected \"BPE\""), std::string::npos);

  Json llama3 = good;
  llama3["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(?i:'s|'t)|\\p{L}+";
  EXPECT_NE(load_error(write("pre.json", llama3.dump())).find("unknown pre_tokenizer"), std::string::npos);
  Json no_pre = good;
  no_pre["pre_tokenizer"] = nullptr;
  EXPECT_NE(load_error(write("no_pre.json", no_pre.dump())).find("unknown pre_tokenizer"), std::string::npos);

  Json duplicate = good;
  duplicate["model"]["vocab"]["zz"] = 5;
  EXPECT_NE(load_error(write("duplicate.json", duplicate.dump())).find("duplicate id 5"), std::string::npos);
  Json added_clash = good;
  added_clash["added_tokens"][0]["id"] = 7;
  EXPECT_NE(load_error(write("added.json", added_clash.dump())).find("duplicate id 7"), std::string::npos);

  Json gap = good;
  gap["model"]["vocab"].erase(gap["model"]["vocab"].begin());
  EXPECT_NE(load_error(write("gap.json", gap.dump())).find("no token has id"), std::string::npos);
  Json negative = good;
  negative["model"]["vocab"]["zz"] = -1;
  EXPECT_NE(load_error(write("negative.json", negative.dump())).find("out of range"), std::string::npos);
  Json no_merges = good;
  no_merges["model"].erase("merges");
  EXPECT_NE(load_error(write("no_merges.json", no_merges.dump())).find("missing model.merges"), std::string::npos);
  Json bad_merge = good;
  bad_merge["model"]["merges"].push_back("q z");
  EXPECT_NE(load_error(write("bad_merge.json", bad_merge.dump())).find("not in the vocabulary"), std::string::npos);
  Json nfkc = good;
  nfkc["normalizer"]["type"] = "NFKC";
  EXPECT_NE(load_error(write("nfkc.json", nfkc.dump())).find("normalizer"), std::string::npos);
  Json fallback = good;
  fallback["model"]["byte_fallback"] = true;
  EXPECT_NE(load_error(write("fallback.json", fallback.dump())).find("byte_fallback"), std::string::npos);
  Json lstrip = good;
  lstrip["added_tokens"][0]["lstrip"] = true;
  EXPECT_NE(load_error(write("lstrip.json", lstrip.dump())).find("lstrip"), std::string::npos);
}

// ---------------------------------------------------------------------------
// josi tokenize

class TokenizeCommand : public TokenizerJson {
 protected:
  void SetUp() override { path = write("tokenizer.json", tokenizer_json(kChat.vocabulary()).dump()); }
  std::filesystem::path path;
};

TEST_F(TokenizeCommand, PrintsIdsCountsAndJsonLines) {
  Tokenizer t = kChat.tokenizer();
  auto json_ids = [&](const std::string& text, bool special) {
    Json ids = t.encode(text, special);
    std::string out = "[";
    for (size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + ids[i].dump();
    return out + "]\n";
  };
  const std::string text = "<|im_start|>hello there";
  auto r = run_josi({"tokenize", "--tokenizer", path.string(), text});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, json_ids(text, false));
  r = run_josi({"tokenize", "--tokenizer", path.string(), "--special", text});
  EXPECT_EQ(r.out, json_ids(text, true));
  r = run_josi({"tokenize", "--tokenizer", path.string(), "--special", "--ids", "<|im_start|>hello"});
  EXPECT_EQ(r.out, std::to_string(*t.token_id("<|im_start|>")) + " " + std::to_string(Tiny::merged(3)) + "\n");
  r = run_josi({"tokenize", "--tokenizer", path.string(), "--count", "-"}, "hello\n");
  EXPECT_EQ(r.out, std::to_string(t.count("hello\n")) + "\n");

  r = run_josi({"tokenize", "--tokenizer", path.string(), "--jsonl", "--special", "-"},
               "\"hello\"\n[1]\n\n\"<|im_end|>\"\nnot json\n\"the end\"\n");
  EXPECT_EQ(r.exit_code, 1);
  std::vector<std::string> lines;
  for (size_t pos = 0, end; pos < r.out.size(); pos = end + 1) {
    end = r.out.find('\n', pos);
    lines.push_back(r.out.substr(pos, end - pos + 1));
  }
  // One line per non-blank input line, in order; bad lines say why.
  ASSERT_EQ(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines[0], json_ids("hello", true));
  EXPECT_EQ(lines[1], "{\"error\": \"<stdin>:2: expected a JSON string, got array\"}\n");
  EXPECT_EQ(lines[2], json_ids("<|im_end|>", true));
  EXPECT_EQ(lines[3].rfind("{\"error\": \"<stdin>:5: invalid JSON", 0), 0u) << lines[3];
  EXPECT_EQ(lines[4], json_ids("the end", true));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 2) << r.err;
}

TEST_F(TokenizeCommand, Errors) {
  auto r = run_josi({"tokenize", "--tokenizer", (dir / "nope.json").string(), "x"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err.rfind("josi: error: " + (dir / "nope.json").string(), 0), 0u) << r.err;
  r = run_josi({"tokenize", "--tokenizer", path.string(), "--ids", "--count", "x"});
  EXPECT_EQ(r.exit_code, 2);
  r = run_josi({"tokenize", "--tokenizer", path.string()});
  EXPECT_EQ(r.exit_code, 2);
  r = run_josi({"tokenize", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--special"), std::string::npos);
}

}  // namespace
