#include "data/jsonl.hpp"

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/strings.hpp"

namespace josi::data {

std::vector<JsonlRecord> read_jsonl(const std::filesystem::path& path) {
  const std::string text = base::read_file(path);
  std::vector<JsonlRecord> records;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (base::trim(line).empty()) continue;
    JsonlRecord record;
    record.line = line_no;
    if (!json::try_parse(line, record.value)) {
      try {
        json::parse(line, path.string() + ":" + std::to_string(line_no));
      } catch (const Error& e) {
        record.error = e.what();
      }
    }
    records.push_back(std::move(record));
  }
  return records;
}

std::vector<JsonlRecord> read_jsonl_strict(const std::filesystem::path& path) {
  auto records = read_jsonl(path);
  for (const auto& r : records)
    if (!r.ok()) throw Error(r.error);
  return records;
}

}  // namespace josi::data
