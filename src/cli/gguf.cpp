// josi gguf info FILE [--json] [--tensors]
// josi gguf set-version IN OUT 2|3
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/utf8.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "formats/gguf.hpp"
#include "json/python_dumps.hpp"

namespace josi::cli {

namespace {

using formats::GgufArray;
using formats::GgufFile;
using formats::GgufValue;
using formats::GgufValueType;
using json::Json;

constexpr size_t kShownElements = 5;   // arrays longer than this are summarised
constexpr size_t kShownStringBytes = 100;  // text mode cuts longer strings (chat templates)
constexpr size_t kMaxKeyColumn = 40;

// A quoted, one-line rendering: escapes, \xNN for invalid UTF-8, cut at `limit` bytes.
std::string quote(std::string_view s, size_t limit = kShownStringBytes) {
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  size_t i = 0;
  while (i < s.size() && i < limit) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = base::utf8_sequence(s, i);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f || n == 0) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
      n = 1;
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  out += '"';
  if (i < s.size()) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

// Python's repr of the value (1000000.0, 1e-06); an f32 goes through its own
// shortest digits first, so 1e-6f shows as 1e-06 rather than 9.99999997e-07.
double float_value(const GgufValue& v) {
  double d = std::get<double>(v.value);
  if (v.type != GgufValueType::F32 || !std::isfinite(d)) return d;
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<float>(d));
  return std::stod(std::string(buf, end));
}

std::string type_name(GgufValueType t) { return std::string(formats::gguf_value_type_name(t)); }

std::string plural(GgufValueType t) {
  if (t == GgufValueType::STRING || t == GgufValueType::ARRAY || t == GgufValueType::BOOL) return type_name(t) + "s";
  return type_name(t);
}

std::string describe_type(const GgufValue& v) {
  if (v.type != GgufValueType::ARRAY) return type_name(v.type);
  return "array[" + type_name(std::get<std::shared_ptr<GgufArray>>(v.value)->element_type) + "]";
}

std::string text_value(const GgufValue& v) {
  switch (v.type) {
    case GgufValueType::U8: case GgufValueType::U16: case GgufValueType::U32: case GgufValueType::U64:
      return std::to_string(std::get<uint64_t>(v.value));
    case GgufValueType::I8: case GgufValueType::I16: case GgufValueType::I32: case GgufValueType::I64:
      return std::to_string(std::get<int64_t>(v.value));
    case GgufValueType::F32: case GgufValueType::F64: return json::python_float_repr(float_value(v));
    case GgufValueType::BOOL: return std::get<bool>(v.value) ? "true" : "false";
    case GgufValueType::STRING: return quote(std::get<std::string>(v.value));
    case GgufValueType::ARRAY: {
      const GgufArray& a = *std::get<std::shared_ptr<GgufArray>>(v.value);
      const size_t n = a.elements.size();
      const bool summarised = n > kShownElements;
      std::string out = "[";
      if (summarised) out += std::to_string(n) + " " + plural(a.element_type) + ": ";
      for (size_t i = 0; i < std::min(n, kShownElements); ++i) out += (i ? ", " : "") + text_value(a.elements[i]);
      out += summarised ? ", ... ]" : "]";
      return out;
    }
  }
  return "?";
}

Json json_value(const GgufValue& v) {
  switch (v.type) {
    case GgufValueType::U8: case GgufValueType::U16: case GgufValueType::U32: case GgufValueType::U64:
      return std::get<uint64_t>(v.value);
    case GgufValueType::I8: case GgufValueType::I16: case GgufValueType::I32: case GgufValueType::I64:
      return std::get<int64_t>(v.value);
    case GgufValueType::F32: case GgufValueType::F64: {
      double d = float_value(v);
      return std::isfinite(d) ? Json(d) : Json(nullptr);  // JSON has no NaN or infinity
    }
    case GgufValueType::BOOL: return std::get<bool>(v.value);
    case GgufValueType::STRING: return base::valid_utf8(std::get<std::string>(v.value));
    case GgufValueType::ARRAY: {
      const GgufArray& a = *std::get<std::shared_ptr<GgufArray>>(v.value);
      Json first = Json::array();
      for (size_t i = 0; i < std::min(a.elements.size(), kShownElements); ++i) first.push_back(json_value(a.elements[i]));
      return Json{{"element_type", type_name(a.element_type)}, {"count", a.elements.size()}, {"first", first}};
    }
  }
  return nullptr;
}

std::string dims_text(const std::vector<uint64_t>& dims) {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i) out += (i ? ", " : "") + std::to_string(dims[i]);
  return out + "]";
}

// For a LoRA adapter file: what it adapts, its ranks and scale, in a line.
std::optional<std::string> lora_summary(const formats::GgufFile& f) {
  const auto text = [&](const char* key) {
    const auto* v = f.find(key);
    return v && v->type == GgufValueType::STRING ? v->as_string(key) : std::string();
  };
  if (text("general.type") != "adapter" || text("adapter.type") != "lora") return std::nullopt;
  std::set<uint64_t> ranks;
  size_t projections = 0;
  for (const auto& t : f.tensors()) {
    const std::string suffix = ".lora_a";
    if (t.name.size() <= suffix.size() || t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    ++projections;
    if (t.dims.size() == 2) ranks.insert(t.dims[1]);
  }
  std::string rank;
  for (uint64_t r : ranks) rank += (rank.empty() ? "" : "/") + std::to_string(r);
  const auto* alpha = f.find("adapter.lora.alpha");
  const std::string alpha_text = alpha && alpha->type == GgufValueType::F32 ? fmt::format("{:g}", alpha->as_float("alpha")) : "missing";
  return fmt::format("LoRA adapter for {}: {} adapted projections, rank {}, alpha {}", text("general.architecture"),
                     projections, rank.empty() ? "-" : rank, alpha_text);
}

void info(const std::string& path, bool as_json, bool with_tensors) {
  GgufFile f(path);
  uint64_t parameters = 0, bytes = 0;
  for (const auto& t : f.tensors()) parameters += t.numel(), bytes += t.nbytes;

  if (as_json) {
    Json out = {{"file", base::valid_utf8(path)},
                {"version", f.version()},
                {"tensor_count", f.tensors().size()},
                {"kv_count", f.metadata().size()},
                {"alignment", f.alignment()},
                {"data_offset", f.data_offset()},
                {"parameters", parameters},
                {"tensor_bytes", bytes}};
    Json metadata = Json::object();
    for (const auto& [key, value] : f.metadata()) {
      Json entry = {{"type", type_name(value.type)}};
      Json v = json_value(value);
      if (value.type == GgufValueType::ARRAY)
        entry.update(v);
      else
        entry["value"] = v;
      metadata[base::valid_utf8(key)] = entry;
    }
    out["metadata"] = metadata;
    if (const auto adapter = lora_summary(f)) out["adapter"] = *adapter;
    if (with_tensors) {
      Json list = Json::array();
      for (size_t i = 0; i < f.tensors().size(); ++i) {
        const auto& t = f.tensors()[i];
        list.push_back({{"index", i},
                        {"name", base::valid_utf8(t.name)},
                        {"type", formats::ggml_type_info(t.type).name},
                        {"dims", t.dims},
                        {"offset", t.offset},
                        {"bytes", t.nbytes}});
      }
      out["tensors"] = list;
    }
    std::cout << json::python_dumps(out) << "\n";
    return;
  }

  std::ostringstream o;
  o << path << ": GGUF v" << f.version() << ", " << f.tensors().size() << " tensors, " << f.metadata().size()
    << " metadata keys, alignment " << f.alignment() << ", data at byte " << f.data_offset() << "\n";
  if (!f.metadata().empty()) {
    size_t key_width = 0, type_width = 0;
    std::vector<std::string> keys;
    for (const auto& [key, value] : f.metadata()) {
      // Keys are unquoted unless they need escaping to stay on one line.
      std::string shown = quote(key, SIZE_MAX);
      shown = shown.substr(1, shown.size() - 2) == key ? key : shown;
      key_width = std::max(key_width, std::min(shown.size(), kMaxKeyColumn));
      type_width = std::max(type_width, describe_type(value).size());
      keys.push_back(std::move(shown));
    }
    o << "metadata:\n";
    for (size_t i = 0; i < keys.size(); ++i) {
      const GgufValue& value = f.metadata()[i].second;
      o << "  " << std::left << std::setw(static_cast<int>(key_width)) << keys[i] << "  "
        << std::setw(static_cast<int>(type_width)) << describe_type(value) << "  " << text_value(value) << "\n";
    }
  }
  if (with_tensors && !f.tensors().empty()) {
    std::vector<std::array<std::string, 6>> rows = {{"#", "name", "type", "dims", "offset", "bytes"}};
    for (size_t i = 0; i < f.tensors().size(); ++i) {
      const auto& t = f.tensors()[i];
      std::string name = quote(t.name, SIZE_MAX);
      if (name.substr(1, name.size() - 2) == t.name) name = t.name;
      rows.push_back({std::to_string(i), name, std::string(formats::ggml_type_info(t.type).name), dims_text(t.dims),
                      std::to_string(t.offset), std::to_string(t.nbytes)});
    }
    std::array<size_t, 6> width{};
    for (const auto& row : rows)
      for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    o << "tensors:\n";
    for (const auto& row : rows) {
      for (size_t c = 0; c < row.size(); ++c) {
        // Numbers right-aligned, text left-aligned.
        bool numeric = c == 0 || c >= 4;
        o << "  " << (numeric ? std::right : std::left) << std::setw(static_cast<int>(width[c])) << row[c];
      }
      o << "\n";
    }
  }
  o << "total: " << f.tensors().size() << " tensors, " << parameters << " parameters, " << bytes << " bytes\n";
  if (const auto adapter = lora_summary(f)) o << *adapter << "\n";
  std::cout << o.str();
}

}  // namespace

void register_gguf(CLI::App& app) {
  auto* gguf = app.add_subcommand("gguf", "Inspect and patch GGUF model files");
  gguf->require_subcommand(1);

  struct InfoOptions {
    std::string file;
    bool json = false;
    bool tensors = false;
  };
  auto info_opts = std::make_shared<InfoOptions>();
  auto* info_cmd = gguf->add_subcommand("info", "Print a GGUF file's header, metadata and (optionally) tensors");
  info_cmd->add_option("file", info_opts->file, "GGUF file")->required();
  info_cmd->add_flag(flag("json"), info_opts->json, "Print one JSON object instead of text");
  info_cmd->add_flag(flag("tensors"), info_opts->tensors, "Also list every tensor");
  info_cmd->callback([info_opts] { info(info_opts->file, info_opts->json, info_opts->tensors); });

  struct SetVersionOptions {
    std::string in, out;
    uint32_t version = 0;
  };
  auto sv = std::make_shared<SetVersionOptions>();
  auto* set_version = gguf->add_subcommand(
      "set-version", "Copy a GGUF file with its version field set to 2 or 3 (the layouts are the same)");
  set_version->add_option("in", sv->in, "GGUF file to read")->required();
  set_version->add_option("out", sv->out, "File to write (may be the input)")->required();
  set_version->add_option("version", sv->version, "2 or 3")->required();
  set_version->callback([sv] {
    uint32_t old = formats::gguf_set_version(sv->in, sv->out, sv->version);
    std::cout << sv->out << ": GGUF version " << old << " -> " << sv->version << "\n";
  });
}

}  // namespace josi::cli
