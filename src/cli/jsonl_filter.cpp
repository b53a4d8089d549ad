#include "cli/jsonl_filter.hpp"

#include <fstream>
#include <iostream>

#include "base/error.hpp"
#include "base/strings.hpp"
#include "json/python_dumps.hpp"

namespace josi::cli {

int run_jsonl_lines(const std::string& command, const std::string& input_path,
                    const std::function<std::string(const json::Json& input)>& handler) {
  std::ifstream file;
  std::istream* in = &std::cin;
  std::string source = "<stdin>";
  if (input_path != "-") {
    file.open(input_path, std::ios::binary);
    if (!file) throw Error(input_path + ": cannot open", ExitCode::io);
    in = &file;
    source = input_path;
  }
  std::string line;
  size_t line_no = 0;
  size_t failed = 0;
  while (std::getline(*in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (base::trim(line).empty()) continue;
    std::string result;
    try {
      result = handler(json::parse(line, source + ":" + std::to_string(line_no)));
    } catch (const Error& e) {
      std::string message = e.what();
      if (message.rfind(source, 0) != 0) message = source + ":" + std::to_string(line_no) + ": " + message;
      std::cerr << "josi " << command << ": " << message << "\n";
      result = json::python_dumps(json::Json::object({{"error", message}}));
      ++failed;
    }
    std::cout << result << "\n";
  }
  std::cout.flush();
  return failed ? static_cast<int>(ExitCode::failure) : 0;
}

}  // namespace josi::cli

namespace josi::cli {

int run_jsonl_filter(const std::string& command, const std::string& input_path, const LineHandler& handler) {
  return run_jsonl_lines(command, input_path, [&handler](const json::Json& value) {
    if (!value.is_object()) throw Error("expected a JSON object, got " + json::type_name(value));
    return json::python_dumps(handler(value));
  });
}

}  // namespace josi::cli
