// Encoding speed of Josi's tokenizer on one thread; bench/tokenizer.sh builds
// and runs it beside the Hugging Face library on the same texts.
//   tokenizer_bench TOKENIZER TEXTS.json RUNS   -> one JSON line of timings
//   tokenizer_bench --texts DATA_DIR OUT.json   -> every user and assistant
//       message of DATA_DIR/*.jsonl, as a JSON array
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "text/tokenizer.hpp"

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int dump_texts(const std::filesystem::path& dir, const std::filesystem::path& out) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".jsonl") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  Json texts = Json::array();
  for (const auto& file : files) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      Json r = Json::parse(line);
      if (r.contains("messages")) {
        for (const auto& m : r["messages"])
          if (m.value("role", "") == "user" || m.value("role", "") == "assistant") texts.push_back(m["content"]);
      } else {
        for (const char* k : {"user", "assistant"})
          if (r.contains(k)) texts.push_back(r[k]);
      }
    }
  }
  std::ofstream(out) << texts.dump();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--texts") return dump_texts(argv[2], argv[3]);
  if (argc != 4) {
    std::cerr << "usage: tokenizer_bench TOKENIZER TEXTS.json RUNS | --texts DATA_DIR OUT.json\n";
    return 2;
  }
  const auto texts = Json::parse(std::ifstream(argv[2])).get<std::vector<std::string>>();
  const int runs = std::max(1, std::atoi(argv[3]));
  size_t bytes = 0;
  for (const auto& t : texts) bytes += t.size();

  auto t0 = Clock::now();
  const auto tokenizer = josi::text::Tokenizer::load(argv[1]);
  const double load = seconds_since(t0);

  std::vector<double> times;
  size_t tokens = 0;
  for (int r = 0; r < runs; ++r) {
    tokens = 0;
    t0 = Clock::now();
    for (const auto& t : texts) tokens += tokenizer.encode(t, true).size();
    times.push_back(seconds_since(t0));
  }
  const double first = times.front();
  std::sort(times.begin(), times.end());
  std::cout << Json{{"load_s", load},          {"first_s", first}, {"median_s", times[times.size() / 2]},
                    {"best_s", times.front()}, {"bytes", bytes},   {"texts", texts.size()},
                    {"tokens", tokens}}
                   .dump()
            << "\n";
}
