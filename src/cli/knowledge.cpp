// josi knowledge check FILE
// josi knowledge select --knowledge FILE [INPUT.jsonl]   {"message", "action"?, "sport"?, "max_cards"?} -> {"cards"}
// josi knowledge show --knowledge FILE ID
// josi knowledge bench --knowledge FILE [--messages F.jsonl] [--repetitions N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <set>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/strings.hpp"
#include "cli/commands.hpp"
#include "cli/jsonl_filter.hpp"
#include "cli/options.hpp"
#include "data/jsonl.hpp"
#include "json/json.hpp"
#include "knowledge/card_injection.hpp"
#include "knowledge/knowledge_base.hpp"
#include "knowledge/selector.hpp"

namespace josi::cli {

namespace {

using json::Json;

std::string optional_text(const Json& in, const char* key) {
  const auto it = in.find(key);
  if (it == in.end() || it->is_null()) return "";
  if (!it->is_string()) throw Error(std::string("\"") + key + "\": expected a string, got " + json::type_name(*it));
  return it->get<std::string>();
}

Json select_line(const knowledge::KnowledgeBase& k, const Json& in) {
  for (const auto& [key, _] : in.items())
    if (key != "message" && key != "action" && key != "sport" && key != "max_cards") throw Error("unknown field " + base::quoted(key));
  const auto message = in.find("message");
  if (message == in.end() || !message->is_string()) throw Error("\"message\": expected a string");
  size_t max_cards = 3;
  if (const auto n = in.find("max_cards"); n != in.end()) {
    if (!n->is_number_integer() || n->get<int64_t>() < 0 || n->get<int64_t>() > 100)
      throw Error("\"max_cards\": expected an integer 0..100");
    max_cards = n->get<size_t>();
  }
  Json cards = Json::array();
  for (const auto& c : knowledge::select_cards(k, message->get<std::string>(), optional_text(in, "action"),
                                               optional_text(in, "sport"), max_cards))
    cards.push_back({{"id", c.entry->id}, {"score", c.score}});
  return {{"cards", cards}};
}

// The athlete messages the benchmark selects for: each row's "message", or
// the athlete's part of each user turn of a training row.
std::vector<std::string> bench_messages(const std::string& path) {
  std::vector<std::string> out;
  for (const auto& r : data::read_jsonl_strict(path)) {
    if (r.value.contains("message") && r.value["message"].is_string()) {
      out.push_back(r.value["message"]);
      continue;
    }
    if (!r.value.contains("messages")) continue;
    for (const auto& m : r.value["messages"])
      if (m.value("role", "") == "user" && m["content"].is_string())
        out.emplace_back(knowledge::split_user_turn(m["content"].get<std::string>()).athlete);
  }
  if (out.empty()) throw Error(path + ": no messages to select for");
  return out;
}

void bench(const std::string& file, const std::string& messages_file, int repetitions) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto k = knowledge::KnowledgeBase::load(file);
  const double load_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  const auto messages = bench_messages(messages_file);
  std::vector<double> us;
  for (int rep = 0; rep < repetitions; ++rep) {
    for (const auto& m : messages) {
      const auto t = Clock::now();
      const auto cards = knowledge::select_cards(k, m, "answer_question", "run", 2);
      us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
      if (cards.size() > 2) throw Error("bench: more cards than asked for");
    }
  }
  std::sort(us.begin(), us.end());
  const auto at = [&](double q) { return us[std::min(us.size() - 1, static_cast<size_t>(q * us.size()))]; };
  std::set<std::string> cards;
  for (const auto& e : k.entries()) cards.insert(e.card);
  std::printf("knowledge: %zu entries from %zu cards, loaded in %.2f ms\n", k.entries().size(), cards.size(), load_ms);
  std::printf("selection of 2 cards, %zu messages x %d repetitions\n\n", messages.size(), repetitions);
  std::printf("| statistic | us per selection | target (us) | share of target |\n|---|---|---|---|\n");
  for (const auto& [name, value] : std::vector<std::pair<const char*, double>>{
           {"median", at(0.5)}, {"p99", at(0.99)}, {"max", us.back()}})
    std::printf("| %s | %.1f | 1000 | %.3f |\n", name, value, value / 1000.0);
}

}  // namespace

void register_knowledge(CLI::App& app) {
  auto* cmd = app.add_subcommand("knowledge", "The coaching cards (knowledge.json): check, select, show, bench");
  cmd->require_subcommand(1);

  auto* check = cmd->add_subcommand("check", "Check a knowledge file: one line per problem, exit 1 when there is one");
  auto check_file = std::make_shared<std::string>();
  check->add_option("file", *check_file, "knowledge.json")->required()->check(CLI::ExistingFile);
  check->callback([check_file] {
    std::vector<knowledge::Entry> entries;
    std::string version;
    const auto problems = knowledge::check_knowledge_file(*check_file, &entries, &version);
    for (const auto& p : problems) std::cerr << "josi knowledge check: " << p << "\n";
    if (!problems.empty()) {
      std::cerr << "josi knowledge check: " << problems.size() << " problems\n";
      set_exit_code(static_cast<int>(ExitCode::failure));
      return;
    }
    std::set<std::string> cards;
    size_t sports = 0;
    for (const auto& e : entries) {
      cards.insert(e.card);
      sports += e.sport.has_value();
    }
    std::cout << *check_file << ": version " << version << ", " << entries.size() << " entries from " << cards.size()
              << " cards (" << sports << " sport-specific): good\n";
  });

  auto* select = cmd->add_subcommand("select", "JSONL filter: {\"message\", \"action\"?, \"sport\"?, \"max_cards\"?} -> {\"cards\"}");
  auto select_file = std::make_shared<std::string>();
  auto input = std::make_shared<std::string>("-");
  select->add_option(flag("knowledge"), *select_file, "knowledge.json")->required()->check(CLI::ExistingFile);
  select->add_option("input", *input, "Input JSONL (default: standard input)");
  select->callback([select_file, input] {
    const auto k = knowledge::KnowledgeBase::load(*select_file);
    set_exit_code(run_jsonl_filter("knowledge select", *input, [&](const Json& in) { return select_line(k, in); }));
  });

  auto* show = cmd->add_subcommand("show", "Print one entry");
  auto show_file = std::make_shared<std::string>();
  auto id = std::make_shared<std::string>();
  show->add_option(flag("knowledge"), *show_file, "knowledge.json")->required()->check(CLI::ExistingFile);
  show->add_option("id", *id, "The entry's id (<card>__<section>)")->required();
  show->callback([show_file, id] {
    const auto k = knowledge::KnowledgeBase::load(*show_file);
    const auto* e = k.find(*id);
    if (!e) throw Error(*show_file + ": no entry " + base::quoted(*id));
    std::cout << e->id << " (card " << e->card << ", section " << e->section << (e->sport ? ", sport " + *e->sport : "")
              << ")\nkeywords: ";
    for (size_t i = 0; i < e->keywords.size(); ++i) std::cout << (i ? ", " : "") << e->keywords[i];
    std::cout << "\n\n" << e->content << "\n";
  });

  auto* b = cmd->add_subcommand("bench", "Time card selection per message (the target: well under 1 ms)");
  auto bench_file = std::make_shared<std::string>();
  auto messages = std::make_shared<std::string>();
  auto repetitions = std::make_shared<int>(20);
  b->add_option(flag("knowledge"), *bench_file, "knowledge.json")->required()->check(CLI::ExistingFile);
  b->add_option(flag("messages"), *messages, "JSONL of turns ({\"message\"}) or training rows")->required()->check(CLI::ExistingFile);
  b->add_option(flag("repetitions"), *repetitions, "Passes over the messages")->check(CLI::Range(1, 1000))->capture_default_str();
  b->callback([bench_file, messages, repetitions] { bench(*bench_file, *messages, *repetitions); });
}

}  // namespace josi::cli
