#pragma once
// The coaching cards: the coach's bounded knowledge, shipped beside the
// model as knowledge.json:
//   {"version": "v6", "description": "...", "total_entries": N,
//    "entries": [{"id": "<card>__<section>", "card", "section", "sport"?,
//                 "topics": [...], "keywords": [...], "content": "..."}, ...]}
// Read once per coach; every entry checked (check_knowledge) so that a bad
// file is refused with a line naming the entry, never half used.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace josi::knowledge {

struct Entry {
  std::string id;       // "<card>__<section>"
  std::string card;     // before the first "__"
  std::string section;  // after it; "main" when the id has none
  std::optional<std::string> sport;  // "run", "bike": a sport-specific card
  std::vector<std::string> topics;
  std::vector<std::string> keywords;  // lower-case; a phrase holds a space
  std::string content;
  std::vector<size_t> keyword_ids;     // each keyword's place in KnowledgeBase::keywords()
};

// Bounds a knowledge file must keep (the users' has 114 entries of at most
// 1.7 KB in 157 KB): larger input is refused, so selection stays fast.
inline constexpr size_t kMaxFileBytes = 16u << 20;
inline constexpr size_t kMaxEntries = 10000;
inline constexpr size_t kMaxContentBytes = 64u << 10;
inline constexpr size_t kMaxKeywords = 200;

class KnowledgeBase {
 public:
  // Reads and checks `path`; throws josi::Error with the first problem
  // (naming the file and the entry) and how many more there are.
  static KnowledgeBase load(const std::filesystem::path& path);
  // The same from text; `source` names it in errors.
  static KnowledgeBase parse(std::string_view text, const std::string& source);

  const std::string& version() const { return version_; }
  const std::vector<Entry>& entries() const { return entries_; }
  const Entry* find(std::string_view id) const;
  // Every keyword once (the users' 1,297 are 180): a message is searched for each once.
  const std::vector<std::string>& keywords() const { return keywords_; }

 private:
  void index_keywords();  // fills keywords_ and each entry's keyword_ids

  std::string version_;
  std::vector<Entry> entries_;
  std::vector<std::string> keywords_;
};

// Every problem of a knowledge file's text, one line each ("<source>: entry
// \"<id>\": keywords[2] \"Zone\" is not lower-case"); empty when it is good.
// The entries it could read go to `entries` when not null.
std::vector<std::string> check_knowledge(std::string_view text, const std::string& source,
                                         std::vector<Entry>* entries = nullptr, std::string* version = nullptr);
// The same for a file, refusing one over kMaxFileBytes before reading it.
std::vector<std::string> check_knowledge_file(const std::filesystem::path& path, std::vector<Entry>* entries = nullptr,
                                              std::string* version = nullptr);

}  // namespace josi::knowledge
