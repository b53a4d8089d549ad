// The users' .conv conversations: the reader's rules, their files' counts,
// and the rows of their validation split that came from those files.
#include "data/conversation_file.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "base/files.hpp"
#include "data/jsonl.hpp"
#include "support/test_support.hpp"

using josi::data::conversation_problems;
using josi::data::conversation_row;
using josi::data::parse_conversation_file;
namespace fs = std::filesystem;

namespace {

fs::path v7(const std::string& name) { return josi::test::shared_dir() / "reference" / "mivalta-v7" / "data" / name; }

std::vector<fs::path> conversation_files() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(v7("conversations")))
    if (entry.path().extension() == ".conv") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST(ConversationFile, ReadsMetadataTurnsAndConversations) {
  const auto file = parse_conversation_file(
      "\n# domain: zones\n#tags:  hr , basics,, \n# system: never used\n# level: beginner\n\n"
      "ignored before a marker\nUSER:\n  What is Zone 2? \n\n# not metadata here\nJOSI:\nEasy.\n\nReally.\n\n---\n"
      "USER:\nJOSI:\n  USER:  \nSecond\n---\n---\nJOSI:\nonly me\n");
  EXPECT_EQ(file.domain, "zones");
  EXPECT_EQ(file.tags, (std::vector<std::string>{"hr", "basics"}));
  EXPECT_EQ(file.system, "never used");
  EXPECT_EQ(file.extras.at("level"), "beginner");
  ASSERT_EQ(file.conversations.size(), 3u);
  const auto& first = file.conversations[0];
  EXPECT_EQ(first.line, 8u);  // its USER: line
  ASSERT_EQ(first.messages.size(), 2u);
  EXPECT_EQ(first.messages[0].content, "What is Zone 2? \n\n# not metadata here");
  EXPECT_EQ(first.messages[1].content, "Easy.\n\nReally.");
  EXPECT_TRUE(conversation_problems(first).empty());
  // "USER:" then "JOSI:" with nothing between: no turn; then a user turn.
  const auto& second = file.conversations[1];
  ASSERT_EQ(second.messages.size(), 1u);
  EXPECT_EQ(second.messages[0].role, "user");
  EXPECT_EQ(conversation_problems(second), (std::vector<std::string>{"the last turn is not JOSI"}));
  EXPECT_EQ(conversation_problems(file.conversations[2]), (std::vector<std::string>{"the first turn is not USER"}));
  const auto row = conversation_row(file, first);
  EXPECT_EQ(row.dump(), R"({"messages":[{"role":"user","content":"What is Zone 2? \n\n# not metadata here"},)"
                        R"({"role":"assistant","content":"Easy.\n\nReally."}],"domain":"zones","tags":["hr","basics"]})");
}

// The users' 27 files (their 28th, combined.conv, repeats 204 of these):
// 773 + 204 two-turn conversations, 11 of four, 252 of six, one of eight;
// all well-formed; the 56 grounded ones single-turn.
TEST(ConversationFile, TheUsersConversations) {
  std::map<size_t, size_t> by_messages;
  size_t grounded = 0;
  for (const auto& path : conversation_files()) {
    const auto file = parse_conversation_file(josi::base::read_file(path));
    for (const auto& c : file.conversations) {
      EXPECT_TRUE(conversation_problems(c).empty()) << path << ":" << c.line;
      ++by_messages[c.messages.size()];
      if (path.filename().string().rfind("grounded_", 0) == 0) {
        ++grounded;
        EXPECT_EQ(c.messages.size(), 2u) << path << ":" << c.line;
      }
    }
  }
  EXPECT_EQ(conversation_files().size(), 27u);
  EXPECT_EQ(by_messages, (std::map<size_t, size_t>{{2, 773}, {4, 11}, {6, 252}, {8, 1}}));
  EXPECT_EQ(grounded, 56u);
}

// The 101 rows of the users' validation split without a system prompt were
// converted from these files, then given knowledge blocks at the end of
// their user turns: without those, each is a conversion, byte for byte.
TEST(ConversationFile, TheUsersConvertedRowsAreConversions) {
  std::set<std::string> converted;
  for (const auto& path : conversation_files()) {
    const auto file = parse_conversation_file(josi::base::read_file(path));
    for (const auto& c : file.conversations) converted.insert(conversation_row({}, c).dump());
  }
  size_t rows = 0;
  for (const auto& record : josi::data::read_jsonl_strict(v7("val_v7_unified.jsonl"))) {
    auto messages = record.value.at("messages");
    if (messages.at(0).at("role") == "system") continue;
    for (auto& m : messages) {
      if (m.at("role") != "user") continue;
      std::string content = m.at("content");
      if (const size_t at = content.find("\n\n[KNOWLEDGE]"); at != std::string::npos) content.erase(at);
      m["content"] = content;
    }
    ++rows;
    EXPECT_TRUE(converted.count(josi::json::Json{{"messages", messages}}.dump())) << "line " << record.line;
  }
  EXPECT_EQ(rows, 101u);
}
