#include "text/tokenizer.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include "base/error.hpp"
#include "formats/gguf.hpp"

namespace josi::text {

namespace {

// ---------------------------------------------------------------------------
// GPT-2's byte-to-unicode alphabet: bytes that are printable stand for
// themselves; the other 68 (controls, space, DEL, NBSP, soft hyphen) are
// moved to U+0100.. in byte order, so every token string is visible text.

struct ByteAlphabet {
  std::array<char32_t, 256> to_char{};
  std::array<int16_t, 0x144> to_byte{};  // -1 for characters outside the alphabet

  ByteAlphabet() {
    to_byte.fill(-1);
    char32_t shifted = 0x100;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_char[b] = printable ? static_cast<char32_t>(b) : shifted++;
      to_byte[to_char[b]] = static_cast<int16_t>(b);
    }
  }
};

const ByteAlphabet& alphabet() {
  static const ByteAlphabet a;
  return a;
}

// A token string in the byte-level alphabet back to the bytes it stands for;
// false when it holds a character outside the alphabet.
bool byte_level_to_raw(std::string_view token, std::string& out) {
  const auto& a = alphabet();
  const auto* p = reinterpret_cast<const unsigned char*>(token.data());
  const size_t n = token.size();
  // The alphabet lies below U+0144: one- and two-byte UTF-8 only.
  for (size_t i = 0; i < n;) {
    char32_t cp;
    if (p[i] < 0x80) {
      cp = p[i++];
    } else if ((p[i] & 0xE0) == 0xC0 && i + 1 < n && (p[i + 1] & 0xC0) == 0x80) {
      cp = (char32_t{p[i]} & 0x1F) << 6 | (p[i + 1] & 0x3F);
      i += 2;
      if (cp < 0x80) return false;  // overlong
    } else {
      return false;
    }
    if (cp >= a.to_byte.size() || a.to_byte[cp] < 0) return false;
    out.push_back(static_cast<char>(a.to_byte[cp]));
  }
  return true;
}

// ---------------------------------------------------------------------------
// Hash tables. Open addressing with linear probing: the vocabulary is fixed
// after construction, lookups dominate, and both tables stay small enough
// (a few MB) to live in cache-friendly flat arrays.

inline uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

inline uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ s.size();
  const char* p = s.data();
  size_t n = s.size();
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
    p += 8;
    n -= 8;
  }
  if (n) {
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * 0x94d049bb133111ebull;
  }
  return mix(h);
}

// Power-of-two slot counts at a load factor of at most ~0.6.
size_t table_size(size_t entries) {
  size_t size = 16;
  while (size < entries + entries / 2 + entries / 8) size <<= 1;
  return size;
}

// Raw token bytes -> id. A slot carries the key's first 8 bytes and length,
// so that the common short key is confirmed without touching the tokenizer's
// byte arena (one cache miss per lookup instead of three).
class TokenTable {
 public:
  void reset(size_t entries) {
    slots_.assign(table_size(entries), Slot{0, 0, -1});
    mask_ = slots_.size() - 1;
  }
  template <class Keys>
  int32_t find(std::string_view key, const Keys& keys) const {
    const uint64_t h = hash_bytes(key);
    const uint64_t prefix = prefix_of(key);
    const uint32_t meta = meta_of(h, key.size());
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.meta == meta && s.prefix == prefix && (key.size() <= 8 || keys(s.id) == key)) return s.id;
    }
  }
  // False when the key is already there.
  template <class Keys>
  bool insert(std::string_view key, int32_t id, const Keys& keys) {
    const uint64_t h = hash_bytes(key);
    const uint64_t prefix = prefix_of(key);
    const uint32_t meta = meta_of(h, key.size());
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.id < 0) {
        s = Slot{prefix, meta, id};
        return true;
      }
      if (s.meta == meta && s.prefix == prefix && (key.size() <= 8 || keys(s.id) == key)) return false;
    }
  }

 private:
  struct Slot {
    uint64_t prefix;  // the first 8 bytes, zero-padded
    uint32_t meta;    // 24 bits of hash, 8 bits of length (255 = longer)
    int32_t id;       // -1: empty
  };
  static uint64_t prefix_of(std::string_view key) {
    uint64_t p = 0;
    std::memcpy(&p, key.data(), std::min<size_t>(key.size(), 8));
    return p;
  }
  static uint32_t meta_of(uint64_t h, size_t size) {
    return (static_cast<uint32_t>(h >> 40) << 8) | static_cast<uint32_t>(std::min<size_t>(size, 255));
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

// (left id, right id) -> merge rank and the merged token's id.
class MergeTable {
 public:
  struct Entry {
    uint64_t key;
    uint32_t rank;
    int32_t id;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};

  void reset(size_t entries) {
    slots_.assign(table_size(entries), Entry{kEmpty, 0, -1});
    mask_ = slots_.size() - 1;
  }
  static uint64_t key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  const Entry* find(int32_t left, int32_t right) const {
    const uint64_t k = key(left, right);
    for (size_t i = mix(k) & mask_;; i = (i + 1) & mask_) {
      const Entry& e = slots_[i];
      if (e.key == k) return &e;
      if (e.key == kEmpty) return nullptr;
    }
  }
  // A pair listed twice keeps its later rank, as the Hugging Face library's
  // merge map (built by inserting in order) does.
  void assign(int32_t left, int32_t right, uint32_t rank, int32_t id) {
    const uint64_t k = key(left, right);
    for (size_t i = mix(k) & mask_;; i = (i + 1) & mask_) {
      Entry& e = slots_[i];
      if (e.key == k || e.key == kEmpty) {
        e = Entry{k, rank, id};
        return;
      }
    }
  }

 private:
  std::vector<Entry> slots_;
  size_t mask_ = 0;
};

// ---------------------------------------------------------------------------
// The Qwen2 pre-tokenizer regex, for PCRE2 with Unicode properties. `\s` is
// spelled out as the Unicode White_Space set because that is what the
// reference engine (Oniguruma) matches: PCRE2's own \s also takes U+180E
// (Mongolian vowel separator, a format character since Unicode 6.3).
constexpr char kWhiteSpace[] =
    "\\t\\n\\x0B\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";

std::string qwen2_pattern() {
  const std::string ws = kWhiteSpace;
  return "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^" + ws + "\\p{L}\\p{N}]+[\\r\\n]*|[" +
         ws + "]*[\\r\\n]+|[" + ws + "]+(?![^" + ws + "])|[" + ws + "]+";
}

struct MatchData {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  ~MatchData() { pcre2_match_data_free(data); }
};

// Code points of planes 0 and 1 that NFC leaves alone wherever they stand:
// no canonical decomposition, combining class 0, and never a later part of
// a canonical decomposition (so never the second half of a composition);
// Hangul jamo are composed by rule, not by table, and are excluded by range.
// A text made only of these is NFC as it is. (Decomposable characters that
// NFC would rebuild, such as Hangul syllables, take the slow path: simpler
// to trust.)
class NfcInert {
 public:
  static constexpr char32_t kLimit = 0x20000;
  NfcInert() : bits_(kLimit / 64, ~uint64_t{0}) {
    utf8proc_int32_t parts[32];
    // Above plane 1 only the CJK compatibility ideographs decompose, each to
    // a single character: they add no later parts.
    for (char32_t cp = 0; cp < kLimit; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      const auto cpi = static_cast<utf8proc_int32_t>(cp);
      const utf8proc_property_t* p = utf8proc_get_property(cpi);
      if (p->combining_class != 0) clear(cp);
      const bool hangul = cp >= 0xAC00 && cp <= 0xD7A3;
      if (p->decomp_seqindex == UINT16_MAX && !hangul) continue;
      int boundclass = 0;
      const utf8proc_ssize_t n = utf8proc_decompose_char(cpi, parts, 32, UTF8PROC_DECOMPOSE, &boundclass);
      if (n == 1 && parts[0] == cpi) continue;  // a compatibility decomposition only: NFC keeps it
      clear(cp);
      for (utf8proc_ssize_t i = 1; i < n; ++i) clear(static_cast<char32_t>(parts[i]));
    }
    for (char32_t cp = 0x1100; cp <= 0x11FF; ++cp) clear(cp);
    for (char32_t cp = 0xA960; cp <= 0xA97F; ++cp) clear(cp);
    for (char32_t cp = 0xD7B0; cp <= 0xD7FF; ++cp) clear(cp);
  }
  bool operator()(char32_t cp) const { return cp < kLimit && (bits_[cp >> 6] >> (cp & 63) & 1); }

 private:
  void clear(char32_t cp) {
    if (cp < kLimit) bits_[cp >> 6] &= ~(uint64_t{1} << (cp & 63));
  }
  std::vector<uint64_t> bits_;
};

const NfcInert& nfc_inert() {
  static const NfcInert table;
  return table;
}

// True when every character of `text` is NFC-inert (invalid UTF-8 bytes are
// left as they are by normalisation anyway, but they are sent down the slow
// path, which knows how to step over them).
bool certainly_nfc(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  const NfcInert* inert = nullptr;
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    // Below 0xCC: ASCII, continuation bytes, and the leads of U+0080..U+02FF,
    // all of which are inert.
    if (c < 0xCC) {
      ++i;
      continue;
    }
    if (!inert) inert = &nfc_inert();
    char32_t cp;
    size_t len;
    if (c < 0xE0) {
      if (i + 1 >= n || (p[i + 1] & 0xC0) != 0x80) return false;
      cp = (char32_t{c} & 0x1F) << 6 | (p[i + 1] & 0x3F);
      len = 2;
    } else if (c < 0xF0) {
      if (i + 2 >= n || (p[i + 1] & 0xC0) != 0x80 || (p[i + 2] & 0xC0) != 0x80) return false;
      cp = (char32_t{c} & 0x0F) << 12 | (char32_t{p[i + 1]} & 0x3F) << 6 | (p[i + 2] & 0x3F);
      if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
      len = 3;
    } else if (c == 0xF0) {
      if (i + 3 >= n || (p[i + 1] & 0xC0) != 0x80 || (p[i + 2] & 0xC0) != 0x80 || (p[i + 3] & 0xC0) != 0x80)
        return false;
      cp = (char32_t{p[i + 1]} & 0x3F) << 12 | (char32_t{p[i + 2]} & 0x3F) << 6 | (p[i + 3] & 0x3F);
      if (cp < 0x10000) return false;
      len = 4;
    } else {
      return false;
    }
    if (!(*inert)(cp)) return false;
    i += len;
  }
  return true;
}

// NFC, without a copy when the text is certainly NFC already. Invalid UTF-8
// is kept as it is; the valid runs around it are normalised.
std::string_view nfc(std::string_view text, std::string& buffer) {
  if (certainly_nfc(text)) return text;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  auto normalize = [&buffer](const unsigned char* s, size_t n) -> bool {
    utf8proc_uint8_t* out = nullptr;
    utf8proc_ssize_t len = utf8proc_map(s, static_cast<utf8proc_ssize_t>(n), &out,
                                        static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    if (len < 0) return false;
    buffer.append(reinterpret_cast<const char*>(out), static_cast<size_t>(len));
    std::free(out);
    return true;
  };
  buffer.clear();
  if (normalize(p, text.size())) return buffer;
  buffer.clear();
  size_t run = 0;  // start of the current valid run
  size_t i = 0;
  while (i < text.size()) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t len = utf8proc_iterate(p + i, static_cast<utf8proc_ssize_t>(text.size() - i), &cp);
    if (len > 0) {
      i += static_cast<size_t>(len);
      continue;
    }
    if (i > run) normalize(p + run, i - run);
    buffer.push_back(static_cast<char>(p[i]));
    run = ++i;
  }
  if (i > run) normalize(p + run, i - run);
  return buffer;
}

// Bytes at the end of `s` that start a UTF-8 sequence still missing bytes
// (0 when the text ends complete, or ends in bytes no continuation can fix).
size_t incomplete_utf8_tail(std::string_view s) {
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back for the lead
    size_t need = 0;
    if (c >= 0xC2 && c <= 0xDF)
      need = 2;
    else if (c >= 0xE0 && c <= 0xEF)
      need = 3;
    else if (c >= 0xF0 && c <= 0xF4)
      need = 4;
    if (need == 0 || back >= need) return 0;
    if (back >= 2) {  // the second byte's narrower ranges (no overlongs, surrogates, > U+10FFFF)
      const auto c1 = static_cast<unsigned char>(s[n - back + 1]);
      if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F))
        return 0;
    }
    return back;
  }
  return 0;
}

constexpr uint32_t kNoMerge = ~uint32_t{0};
// Words up to this many bytes merge with a linear scan over a stack array
// (fastest for the short pieces that make up nearly all text); longer ones
// use a heap so that a run of 100k CJK characters stays n log n.
constexpr size_t kLinearMax = 64;

enum : uint8_t { kUnknown = 0, kWhole = 1, kSplit = 2 };

// How many merges' tokens go into the hot table (~256 KB of slots).
constexpr size_t kHotMerges = 8192;

}  // namespace

// ---------------------------------------------------------------------------

struct Tokenizer::Impl {
  Vocabulary vocab;
  std::string bytes;              // decoded bytes of every token, back to back
  std::vector<uint32_t> offsets;  // token id -> [offsets[id], offsets[id + 1]) in bytes
  TokenTable by_bytes;            // normal tokens by their bytes
  // The tokens of the first merges (BPE learns merges by frequency, so these
  // are the most common words) that BPE of their own bytes gives back whole.
  // Small enough to stay in cache; a hit there settles a piece at once.
  TokenTable hot;
  MergeTable merges;
  std::array<int32_t, 256> byte_id{};
  std::unordered_map<std::string, int32_t> by_text;            // added/control tokens by their text
  std::array<std::vector<uint32_t>, 256> added_by_first_byte;  // indexes into vocab.added, longest first
  int added_single_first_byte = -1;                            // the one first byte all added tokens share, or -1
  // Whether BPE of a token's own bytes gives back that one token (most do;
  // a few are unreachable through the merges). Learned on first sight, so a
  // word that is a token costs one hash lookup afterwards.
  std::unique_ptr<std::atomic<uint8_t>[]> whole;
  pcre2_code* regex = nullptr;
  bool jit = false;

  ~Impl() { pcre2_code_free(regex); }

  std::string_view bytes_of(int32_t id) const {
    return std::string_view(bytes).substr(offsets[id], offsets[id + 1] - offsets[id]);
  }
  int32_t find_bytes(std::string_view key) const {
    return by_bytes.find(key, [this](int32_t id) { return bytes_of(id); });
  }

  void build(Vocabulary v);
  void encode(std::string_view text, bool allow_special, std::vector<int32_t>& out) const;
  void encode_segment(std::string_view text, std::vector<int32_t>& out) const;
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;
  void merge(std::string_view piece, std::vector<int32_t>& out) const;
  void merge_long(std::string_view piece, std::vector<int32_t>& out) const;
};

void Tokenizer::Impl::build(Vocabulary v) {
  vocab = std::move(v);
  const size_t n = vocab.tokens.size();
  if (vocab.pre != "qwen2") throw Error("pre-tokenizer \"" + vocab.pre + "\" is not supported (only \"qwen2\")");
  if (vocab.types.size() != n)
    throw Error(std::to_string(vocab.types.size()) + " token types for " + std::to_string(n) + " tokens");
  if (n >= (1u << 24)) throw Error(std::to_string(n) + " tokens is more than this tokenizer supports");

  for (const auto& a : vocab.added) {
    if (a.id < 0 || static_cast<size_t>(a.id) >= n)
      throw Error("added token \"" + a.content + "\": id " + std::to_string(a.id) + " out of range");
    if (vocab.tokens[a.id] != a.content)
      throw Error("added token \"" + a.content + "\": token " + std::to_string(a.id) + " is \"" + vocab.tokens[a.id] +
                  "\"");
    if (vocab.types[a.id] != TokenType::control && vocab.types[a.id] != TokenType::user_defined)
      throw Error("added token \"" + a.content + "\": token type must be control or user-defined");
    if (a.content.empty()) throw Error("added token " + std::to_string(a.id) + " is empty");
  }

  offsets.assign(n + 1, 0);
  size_t total = 0;
  for (const auto& t : vocab.tokens) total += t.size();
  bytes.reserve(total);
  size_t normal = 0;
  for (size_t id = 0; id < n; ++id) {
    const std::string& token = vocab.tokens[id];
    switch (vocab.types[id]) {
      case TokenType::normal:
        if (!byte_level_to_raw(token, bytes))
          throw Error("token " + std::to_string(id) + " \"" + token + "\" is not in the byte-level alphabet");
        ++normal;
        break;
      case TokenType::control:
      case TokenType::user_defined:
        bytes += token;  // added tokens are plain text
        by_text.emplace(token, static_cast<int32_t>(id));
        break;
      case TokenType::unused:
        break;  // embedding padding: decodes to nothing
      default:
        throw Error("token " + std::to_string(id) + ": token type " +
                    std::to_string(static_cast<int>(vocab.types[id])) +
                    " is not supported in a byte-level BPE vocabulary");
    }
    if (bytes.size() > UINT32_MAX) throw Error("vocabulary text too large");
    offsets[id + 1] = static_cast<uint32_t>(bytes.size());
  }

  by_bytes.reset(normal);
  auto keys = [this](int32_t id) { return bytes_of(id); };
  for (size_t id = 0; id < n; ++id) {
    if (vocab.types[id] != TokenType::normal) continue;
    if (!by_bytes.insert(bytes_of(static_cast<int32_t>(id)), static_cast<int32_t>(id), keys))
      throw Error("token " + std::to_string(id) + " \"" + vocab.tokens[id] + "\" is a duplicate");
  }
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    byte_id[b] = find_bytes(std::string_view(&c, 1));
    if (byte_id[b] < 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", b);
      throw Error(std::string("no token for byte ") + hex + " (a byte-level vocabulary needs all 256)");
    }
  }

  merges.reset(vocab.merges.size());
  std::string joined;
  std::vector<int32_t> hot_candidates;
  for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
    const std::string& m = vocab.merges[rank];
    const size_t space = m.find(' ');
    auto where = [&] { return "merge " + std::to_string(rank) + " \"" + m + "\""; };
    if (space == std::string::npos || space == 0 || space + 1 == m.size() ||
        m.find(' ', space + 1) != std::string::npos)
      throw Error(where() + ": expected two tokens separated by one space");
    joined.clear();
    if (!byte_level_to_raw(std::string_view(m).substr(0, space), joined))
      throw Error(where() + ": not in the byte-level alphabet");
    const size_t split = joined.size();
    if (!byte_level_to_raw(std::string_view(m).substr(space + 1), joined))
      throw Error(where() + ": not in the byte-level alphabet");
    const std::string_view all(joined);
    const int32_t a = find_bytes(all.substr(0, split));
    const int32_t b = find_bytes(all.substr(split));
    const int32_t merged = find_bytes(all);
    if (a < 0 || b < 0 || merged < 0)
      throw Error(where() + ": \"" +
                  (a < 0   ? m.substr(0, space)
                   : b < 0 ? m.substr(space + 1)
                           : m.substr(0, space) + m.substr(space + 1)) +
                  "\" is not in the vocabulary");
    merges.assign(a, b, static_cast<uint32_t>(rank), merged);
    if (rank < kHotMerges) hot_candidates.push_back(merged);
  }

  for (uint32_t i = 0; i < vocab.added.size(); ++i)
    added_by_first_byte[static_cast<unsigned char>(vocab.added[i].content[0])].push_back(i);
  int distinct = 0;
  for (int b = 0; b < 256; ++b) {
    auto& list = added_by_first_byte[b];
    if (list.empty()) continue;
    ++distinct;
    added_single_first_byte = b;
    // Longest first: the Hugging Face library matches added tokens leftmost-longest.
    std::stable_sort(list.begin(), list.end(), [this](uint32_t x, uint32_t y) {
      return vocab.added[x].content.size() > vocab.added[y].content.size();
    });
  }
  if (distinct != 1) added_single_first_byte = -1;

  whole.reset(new std::atomic<uint8_t>[n]);
  for (size_t i = 0; i < n; ++i) whole[i].store(kUnknown, std::memory_order_relaxed);
  hot.reset(hot_candidates.size());
  std::vector<int32_t> ids;
  for (int32_t id : hot_candidates) {
    ids.clear();
    merge(bytes_of(id), ids);
    const bool reached = ids.size() == 1 && ids[0] == id;
    whole[id].store(reached ? kWhole : kSplit, std::memory_order_relaxed);
    if (reached) hot.insert(bytes_of(id), id, keys);
  }

  const std::string pattern = qwen2_pattern();
  int error = 0;
  PCRE2_SIZE offset = 0;
  // MATCH_INVALID_UTF: broken UTF-8 never matches, so its bytes fall between
  // matches and become pieces of their own instead of failing the call.
  regex = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                        PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &offset, nullptr);
  if (!regex) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    throw Error(std::string("pre-tokenizer regex: ") + reinterpret_cast<char*>(message));
  }
  jit = pcre2_jit_compile(regex, PCRE2_JIT_COMPLETE) == 0;
}

void Tokenizer::Impl::encode(std::string_view text, bool allow_special, std::vector<int32_t>& out) const {
  if (!allow_special || vocab.added.empty()) {
    encode_segment(text, out);
    return;
  }
  // Added tokens are cut out of the raw text first; what lies between them
  // is normalised and tokenised on its own, as the Hugging Face library does.
  size_t start = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    if (added_single_first_byte >= 0) {
      const void* hit = std::memchr(text.data() + pos, added_single_first_byte, text.size() - pos);
      if (!hit) break;
      pos = static_cast<size_t>(static_cast<const char*>(hit) - text.data());
    }
    const auto& candidates = added_by_first_byte[static_cast<unsigned char>(text[pos])];
    const AddedToken* match = nullptr;
    for (uint32_t i : candidates) {
      const std::string& content = vocab.added[i].content;
      if (text.size() - pos >= content.size() && std::memcmp(text.data() + pos, content.data(), content.size()) == 0) {
        match = &vocab.added[i];
        break;
      }
    }
    if (!match) {
      ++pos;
      continue;
    }
    encode_segment(text.substr(start, pos - start), out);
    out.push_back(match->id);
    pos += match->content.size();
    start = pos;
  }
  encode_segment(text.substr(start), out);
}

void Tokenizer::Impl::encode_segment(std::string_view raw, std::vector<int32_t>& out) const {
  if (raw.empty()) return;
  std::string buffer;
  const std::string_view text = nfc(raw, buffer);
  thread_local MatchData md;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(md.data);
  size_t pos = 0;
  while (pos < text.size()) {
    int rc = jit ? pcre2_jit_match(regex, subject, text.size(), pos, 0, md.data, nullptr)
                 : pcre2_match(regex, subject, text.size(), pos, 0, md.data, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof message);
      throw Error(std::string("pre-tokenizer: ") + reinterpret_cast<char*>(message));
    }
    const size_t begin = ovector[0];
    const size_t end = ovector[1];
    if (end <= begin) throw Error("pre-tokenizer: empty match");  // the pattern cannot match empty
    // "Isolated": text between matches is a piece too (only invalid UTF-8 can be there).
    if (begin > pos) encode_piece(text.substr(pos, begin - pos), out);
    encode_piece(text.substr(begin, end - begin), out);
    pos = end;
  }
  if (pos < text.size()) encode_piece(text.substr(pos), out);
}

void Tokenizer::Impl::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.size() == 1) {
    out.push_back(byte_id[static_cast<unsigned char>(piece[0])]);
    return;
  }
  const auto keys = [this](int32_t i) { return bytes_of(i); };
  if (const int32_t id = hot.find(piece, keys); id >= 0) {
    out.push_back(id);
    return;
  }
  const int32_t id = by_bytes.find(piece, keys);
  if (id >= 0) {
    auto& state = whole[id];
    const uint8_t s = state.load(std::memory_order_relaxed);
    if (s == kWhole) {
      out.push_back(id);
      return;
    }
    if (s == kUnknown) {
      const size_t before = out.size();
      merge(piece, out);
      state.store(out.size() == before + 1 && out[before] == id ? kWhole : kSplit, std::memory_order_relaxed);
      return;
    }
  }
  merge(piece, out);
}

// BPE: starting from single bytes, repeatedly merge the adjacent pair with
// the lowest rank, the leftmost one among equals, until no pair has a merge.
void Tokenizer::Impl::merge(std::string_view piece, std::vector<int32_t>& out) const {
  size_t n = piece.size();
  if (n > kLinearMax) {
    merge_long(piece, out);
    return;
  }
  int32_t ids[kLinearMax];
  uint32_t ranks[kLinearMax];  // ranks[i]: the pair (ids[i], ids[i + 1])
  int32_t into[kLinearMax];
  for (size_t i = 0; i < n; ++i) ids[i] = byte_id[static_cast<unsigned char>(piece[i])];
  auto pair = [&](size_t i) {
    const auto* e = merges.find(ids[i], ids[i + 1]);
    ranks[i] = e ? e->rank : kNoMerge;
    into[i] = e ? e->id : -1;
  };
  for (size_t i = 0; i + 1 < n; ++i) pair(i);
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i)
      if (ranks[i] < ranks[best]) best = i;
    if (ranks[best] == kNoMerge) break;
    ids[best] = into[best];
    for (size_t i = best + 1; i + 1 < n; ++i) ids[i] = ids[i + 1];
    for (size_t i = best + 1; i + 2 < n; ++i) {
      ranks[i] = ranks[i + 1];
      into[i] = into[i + 1];
    }
    --n;
    if (best > 0) pair(best - 1);
    if (best + 1 < n) pair(best);
  }
  out.insert(out.end(), ids, ids + n);
}

void Tokenizer::Impl::merge_long(std::string_view piece, std::vector<int32_t>& out) const {
  const size_t n = piece.size();
  std::vector<int32_t> ids(n), next(n), prev(n);
  for (size_t i = 0; i < n; ++i) {
    ids[i] = byte_id[static_cast<unsigned char>(piece[i])];
    prev[i] = static_cast<int32_t>(i) - 1;
    next[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1;
  }
  struct Candidate {
    uint32_t rank;
    int32_t pos;
    int32_t left;
    int32_t right;
    int32_t merged;
  };
  // Min-heap on (rank, position): the same order as the linear scan.
  auto later = [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  std::vector<Candidate> heap;
  heap.reserve(n);
  auto push = [&](int32_t pos) {
    const int32_t right = next[pos];
    if (right < 0) return;
    if (const auto* e = merges.find(ids[pos], ids[right])) {
      heap.push_back({e->rank, pos, ids[pos], ids[right], e->id});
      std::push_heap(heap.begin(), heap.end(), later);
    }
  };
  for (size_t i = 0; i + 1 < n; ++i) push(static_cast<int32_t>(i));
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const Candidate c = heap.back();
    heap.pop_back();
    // Stale entries: the left symbol was merged away or changed, or its
    // right neighbour did.
    if (ids[c.pos] != c.left) continue;
    const int32_t right = next[c.pos];
    if (right < 0 || ids[right] != c.right) continue;
    ids[c.pos] = c.merged;
    ids[right] = -1;
    next[c.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = c.pos;
    if (prev[c.pos] >= 0) push(prev[c.pos]);
    push(c.pos);
  }
  for (int32_t i = 0; i >= 0; i = next[i]) out.push_back(ids[i]);
}

// ---------------------------------------------------------------------------

Tokenizer::Tokenizer(Vocabulary vocabulary) : impl_(std::make_unique<Impl>()) { impl_->build(std::move(vocabulary)); }
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;

Tokenizer Tokenizer::load(const std::filesystem::path& given) {
  // A model directory holds its tokenizer.json.
  const auto path = std::filesystem::is_directory(given) ? given / "tokenizer.json" : given;
  // GGUF by its magic rather than its name: model files get renamed.
  bool gguf = false;
  {
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    if (in.read(magic, 4)) gguf = std::memcmp(magic, "GGUF", 4) == 0;
  }
  Vocabulary v = gguf ? vocabulary_from_gguf(formats::GgufFile(path)) : vocabulary_from_tokenizer_json(path);
  try {
    return Tokenizer(std::move(v));
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what(), e.code());
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool allow_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  impl_->encode(text, allow_special, out);
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= impl_->vocab.tokens.size())
      throw Error("token id " + std::to_string(id) + " is out of range (vocabulary of " +
                  std::to_string(impl_->vocab.tokens.size()) + ")");
    out += impl_->bytes_of(id);
  }
  return out;
}

size_t Tokenizer::vocab_size() const { return impl_->vocab.tokens.size(); }

std::optional<int32_t> Tokenizer::token_id(std::string_view token) const {
  if (auto it = impl_->by_text.find(std::string(token)); it != impl_->by_text.end()) return it->second;
  std::string raw;
  if (!byte_level_to_raw(token, raw)) return std::nullopt;
  const int32_t id = impl_->find_bytes(raw);
  if (id < 0) return std::nullopt;
  return id;
}

const std::string& Tokenizer::token_text(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->vocab.tokens.size())
    throw Error("token id " + std::to_string(id) + " is out of range (vocabulary of " +
                std::to_string(impl_->vocab.tokens.size()) + ")");
  return impl_->vocab.tokens[id];
}

TokenType Tokenizer::token_type(int32_t id) const {
  token_text(id);  // the range check
  return impl_->vocab.types[static_cast<size_t>(id)];
}

std::string_view Tokenizer::token_bytes(int32_t id) const {
  token_text(id);
  return impl_->bytes_of(id);
}

bool Tokenizer::is_control(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < impl_->vocab.types.size() && impl_->vocab.types[id] == TokenType::control;
}

std::string Tokenizer::StreamDecoder::push(int32_t id) {
  pending_ += tokenizer_.decode({id});
  const size_t keep = incomplete_utf8_tail(pending_);
  std::string ready = pending_.substr(0, pending_.size() - keep);
  pending_.erase(0, pending_.size() - keep);
  return ready;
}

std::string Tokenizer::StreamDecoder::flush() {
  std::string rest;
  rest.swap(pending_);
  return rest;
}

}  // namespace josi::text
