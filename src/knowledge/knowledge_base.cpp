#include "knowledge/knowledge_base.hpp"

#include <map>
#include <set>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/strings.hpp"
#include "json/json.hpp"

namespace josi::knowledge {

using json::Json;

namespace {

// Checks one entry; appends its problems, prefixed with `where`.
void check_entry(const Json& e, const std::string& where, std::vector<std::string>& problems, Entry& out) {
  const auto problem = [&](const std::string& what) { problems.push_back(where + ": " + what); };
  if (!e.is_object()) return problem("expected an object, got " + json::type_name(e));
  static const std::set<std::string> kKeys = {"id", "card", "section", "sport", "topics", "keywords", "content"};
  for (const auto& [key, _] : e.items())
    if (!kKeys.count(key)) problem("unknown key " + base::quoted(key));
  const auto text = [&](const char* key, bool required) -> std::optional<std::string> {
    const auto it = e.find(key);
    if (it == e.end()) {
      if (required) problem(std::string("missing \"") + key + "\"");
      return std::nullopt;
    }
    if (!it->is_string()) {
      problem(std::string("\"") + key + "\": expected a string, got " + json::type_name(*it));
      return std::nullopt;
    }
    return it->get<std::string>();
  };
  const auto list = [&](const char* key, size_t most) {
    std::vector<std::string> items;
    const auto it = e.find(key);
    if (it == e.end()) {
      problem(std::string("missing \"") + key + "\"");
    } else if (!it->is_array()) {
      problem(std::string("\"") + key + "\": expected an array, got " + json::type_name(*it));
    } else if (it->size() > most) {
      problem(std::string("\"") + key + "\": " + std::to_string(it->size()) + " items, at most " + std::to_string(most));
    } else {
      for (size_t i = 0; i < it->size(); ++i) {
        const Json& item = (*it)[i];
        if (!item.is_string()) {
          problem(std::string(key) + "[" + std::to_string(i) + "]: expected a string, got " + json::type_name(item));
          continue;
        }
        items.push_back(item.get<std::string>());
      }
    }
    return items;
  };
  out.id = text("id", true).value_or("");
  out.card = text("card", true).value_or("");
  out.section = text("section", true).value_or("");
  out.sport = text("sport", false);
  out.content = text("content", true).value_or("");
  out.topics = list("topics", kMaxKeywords);
  out.keywords = list("keywords", kMaxKeywords);

  if (e.contains("id") && out.id.empty()) problem("\"id\" is empty");
  if (!out.id.empty()) {
    const size_t split = out.id.find("__");
    const std::string card = split == std::string::npos ? out.id : out.id.substr(0, split);
    const std::string section = split == std::string::npos ? "main" : out.id.substr(split + 2);
    if (e.contains("card") && out.card != card) problem("\"card\" " + base::quoted(out.card) + " is not the id's " + base::quoted(card));
    if (e.contains("section") && out.section != section)
      problem("\"section\" " + base::quoted(out.section) + " is not the id's " + base::quoted(section));
  }
  if (out.sport && out.sport->empty()) problem("\"sport\" is empty (leave the key out for a card of every sport)");
  if (e.contains("content") && base::trim(out.content).empty()) problem("\"content\" is empty");
  if (out.content.size() > kMaxContentBytes)
    problem("\"content\" is " + std::to_string(out.content.size()) + " bytes, at most " + std::to_string(kMaxContentBytes));
  for (size_t i = 0; i < out.keywords.size(); ++i) {
    const std::string& k = out.keywords[i];
    const std::string at = "keywords[" + std::to_string(i) + "] " + base::quoted(k);
    if (base::trim(k).empty()) problem(at + " is empty");
    else if (base::to_lower_ascii(k) != k) problem(at + " is not lower-case");
  }
}

}  // namespace

std::vector<std::string> check_knowledge(std::string_view text, const std::string& source, std::vector<Entry>* entries,
                                         std::string* version) {
  std::vector<std::string> problems;
  if (text.size() > kMaxFileBytes)
    return {source + ": " + std::to_string(text.size()) + " bytes; a knowledge file is at most " +
            std::to_string(kMaxFileBytes) + " bytes"};
  Json root;
  try {
    root = json::parse(text, source);
  } catch (const Error& e) {
    return {e.what()};
  }
  if (!root.is_object()) return {source + ": expected a JSON object, got " + json::type_name(root)};
  for (const auto& [key, _] : root.items())
    if (key != "version" && key != "description" && key != "total_entries" && key != "entries")
      problems.push_back(source + ": unknown key " + base::quoted(key));
  const auto v = root.find("version");
  if (v == root.end() || !v->is_string() || v->get<std::string>().empty())
    problems.push_back(source + ": \"version\": expected a non-empty string");
  else if (version)
    *version = v->get<std::string>();
  if (const auto d = root.find("description"); d != root.end() && !d->is_string())
    problems.push_back(source + ": \"description\": expected a string, got " + json::type_name(*d));
  const auto list = root.find("entries");
  if (list == root.end() || !list->is_array()) {
    problems.push_back(source + ": \"entries\": expected an array");
    return problems;
  }
  if (list->size() > kMaxEntries) {
    problems.push_back(source + ": " + std::to_string(list->size()) + " entries; a knowledge file holds at most " +
                       std::to_string(kMaxEntries));
    return problems;
  }
  const auto total = root.find("total_entries");
  if (total == root.end() || !total->is_number_integer() || total->get<int64_t>() != static_cast<int64_t>(list->size()))
    problems.push_back(source + ": \"total_entries\" must be the number of entries, " + std::to_string(list->size()));
  std::set<std::string> ids;
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& e = (*list)[i];
    std::string where = source + ": entries[" + std::to_string(i) + "]";
    if (e.is_object())
      if (const auto id = e.find("id"); id != e.end() && id->is_string() && !id->get<std::string>().empty())
        where = source + ": entry " + base::quoted(id->get<std::string>());
    Entry entry;
    check_entry(e, where, problems, entry);
    if (!entry.id.empty() && !ids.insert(entry.id).second) problems.push_back(where + ": the id is used twice");
    if (entries) entries->push_back(std::move(entry));
  }
  return problems;
}

std::vector<std::string> check_knowledge_file(const std::filesystem::path& path, std::vector<Entry>* entries,
                                              std::string* version) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxFileBytes)
    return {path.string() + ": " + std::to_string(size) + " bytes; a knowledge file is at most " +
            std::to_string(kMaxFileBytes) + " bytes"};
  return check_knowledge(base::read_file(path), path.string(), entries, version);
}

namespace {

// Throws the first problem, and how many more there are, when there are any.
void refuse(const std::vector<std::string>& problems) {
  if (problems.empty()) return;
  std::string line = problems.front();
  if (problems.size() > 1) line += " (+" + std::to_string(problems.size() - 1) + " more: josi knowledge check lists them)";
  throw Error(line);
}

}  // namespace

void KnowledgeBase::index_keywords() {
  std::map<std::string, size_t> ids;
  for (auto& e : entries_)
    for (const auto& k : e.keywords) {
      const auto [it, added] = ids.emplace(k, keywords_.size());
      if (added) keywords_.push_back(k);
      e.keyword_ids.push_back(it->second);
    }
}

KnowledgeBase KnowledgeBase::parse(std::string_view text, const std::string& source) {
  KnowledgeBase base;
  refuse(check_knowledge(text, source, &base.entries_, &base.version_));
  base.index_keywords();
  return base;
}

KnowledgeBase KnowledgeBase::load(const std::filesystem::path& path) {
  KnowledgeBase base;
  refuse(check_knowledge_file(path, &base.entries_, &base.version_));
  base.index_keywords();
  return base;
}

const Entry* KnowledgeBase::find(std::string_view id) const {
  for (const auto& e : entries_)
    if (e.id == id) return &e;
  return nullptr;
}

}  // namespace josi::knowledge
