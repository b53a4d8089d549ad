#include "formats/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "base/error.hpp"
#include "base/strings.hpp"
#include "base/files.hpp"
#include "json/json.hpp"

namespace josi::formats {

namespace fs = std::filesystem;

namespace {

// The reference implementation refuses headers above 100 MB; a real header is
// a few hundred kilobytes even for thousands of tensors.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// A pass over untrusted JSON before any tree is built. nlohmann keeps the
// last of two equal keys without a word (and a repeated tensor name means two
// readers may see different files); and building an ordered_json object
// copies its earlier values recursively, so deep nesting would overflow the
// stack. SAX events need neither a tree nor recursion.
class JsonScreen : public nlohmann::json_sax<json::Json> {
 public:
  explicit JsonScreen(size_t max_depth) : max_depth_(max_depth) {}

  std::string duplicate;
  size_t duplicate_depth = 0;  // 1 for a key of the outermost object
  bool too_deep = false;
  std::string syntax_error;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    keys_.emplace_back();
    return enter();
  }
  bool key(string_t& value) override {
    if (!keys_.back().insert(value).second) {
      duplicate = value;
      duplicate_depth = keys_.size();
      return false;
    }
    return true;
  }
  bool end_object() override {
    keys_.pop_back();
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override { return enter(); }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    syntax_error = e.what();
    return false;
  }

 private:
  bool enter() {
    if (++depth_ <= max_depth_) return true;
    too_deep = true;
    return false;
  }
  size_t max_depth_;
  size_t depth_ = 0;
  std::vector<std::set<std::string>> keys_;
};

// A safetensors header is three levels deep; leave room for unknown extras.
constexpr size_t kMaxJsonDepth = 32;

// Parses untrusted JSON named `what`; `top_level` names what a key of the
// outermost object is ("tensor name"), for the duplicate message.
json::Json parse_untrusted(std::string_view text, const std::string& what, std::string_view top_level) {
  JsonScreen screen(kMaxJsonDepth);
  if (!json::Json::sax_parse(text.begin(), text.end(), &screen)) {
    if (screen.too_deep) throw Error(what + ": JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    if (screen.duplicate_depth == 1) throw Error(what + ": duplicate " + std::string(top_level) + " " + base::quoted(screen.duplicate));
    if (screen.duplicate_depth > 1) throw Error(what + ": duplicate key " + base::quoted(screen.duplicate));
    // Same wording as json::parse: drop nlohmann's "[json.exception...] " tag.
    std::string reason = screen.syntax_error;
    if (auto pos = reason.find("] "); pos != std::string::npos) reason = reason.substr(pos + 2);
    throw Error(what + ": invalid JSON: " + reason);
  }
  return json::parse(text, what);
}

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

// A non-negative JSON integer that fits int64, or nullopt.
std::optional<int64_t> non_negative_integer(const json::Json& value) {
  if (value.is_number_unsigned()) {
    uint64_t v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(v);
  }
  if (value.is_number_integer()) {
    int64_t v = value.get<int64_t>();
    if (v < 0) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

// Element count of a shape, or nullopt when it overflows int64 at any step.
std::optional<int64_t> checked_numel(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t dim : shape)
    if (dim < 0 || __builtin_mul_overflow(count, dim, &count)) return std::nullopt;
  return count;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace

int64_t TensorView::numel() const {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<int64_t>());
}

SafetensorsFile::SafetensorsFile(const fs::path& path) : file_(path) {
  const std::string where = path.string();
  auto fail = [&](const std::string& problem) -> Error { return Error(where + ": " + problem); };
  const size_t size = file_.size();
  if (size < 8)
    throw fail("not a safetensors file: " + std::to_string(size) + " bytes, too short for the 8-byte header length");
  const uint64_t header_len = read_u64_le(file_.data());
  if (header_len > size - 8)
    throw fail("header length " + std::to_string(header_len) + " is larger than the " + std::to_string(size - 8) +
               " bytes after it");
  if (header_len > kMaxHeaderBytes)
    throw fail("header length " + std::to_string(header_len) + " exceeds the limit of " +
               std::to_string(kMaxHeaderBytes) + " bytes");
  const std::string_view header_text = file_.bytes().substr(8, header_len);
  const json::Json header = parse_untrusted(header_text, where + ": header", "tensor name");
  if (!header.is_object()) throw fail("header is " + json::type_name(header) + ", expected an object");

  const uint8_t* buffer = file_.data() + 8 + header_len;
  const uint64_t buffer_size = size - 8 - header_len;
  struct Span {
    uint64_t begin, end;
    size_t index;
  };
  std::vector<Span> spans;
  std::vector<TensorView> views;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (entry.is_null()) continue;
      if (!entry.is_object()) throw fail("__metadata__ is " + json::type_name(entry) + ", expected an object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string())
          throw fail("__metadata__ " + base::quoted(key) + " is " + json::type_name(value) + ", expected a string");
        metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    const std::string tensor = "tensor " + base::quoted(name) + ": ";
    if (!entry.is_object()) throw fail(tensor + "entry is " + json::type_name(entry) + ", expected an object");
    TensorView view;
    view.name = name;

    auto dtype = entry.find("dtype");
    if (dtype == entry.end()) throw fail(tensor + "missing \"dtype\"");
    if (!dtype->is_string()) throw fail(tensor + "\"dtype\" is " + json::type_name(*dtype) + ", expected a string");
    try {
      view.dtype = dtype_from_name(dtype->get_ref<const std::string&>());
    } catch (const Error& e) {
      throw fail(tensor + e.what());
    }

    auto shape = entry.find("shape");
    if (shape == entry.end()) throw fail(tensor + "missing \"shape\"");
    if (!shape->is_array()) throw fail(tensor + "\"shape\" is " + json::type_name(*shape) + ", expected a list");
    for (const auto& dim : *shape) {
      auto value = non_negative_integer(dim);
      if (!value)
        throw fail(tensor + "\"shape\" holds " + (dim.is_number() ? dim.dump() : json::type_name(dim)) +
                   ", expected a non-negative integer");
      view.shape.push_back(*value);
    }

    auto offsets = entry.find("data_offsets");
    if (offsets == entry.end()) throw fail(tensor + "missing \"data_offsets\"");
    if (!offsets->is_array() || offsets->size() != 2)
      throw fail(tensor + "\"data_offsets\" must be a list [begin, end]");
    auto begin = non_negative_integer((*offsets)[0]);
    auto end = non_negative_integer((*offsets)[1]);
    if (!begin || !end) throw fail(tensor + "\"data_offsets\" must hold two non-negative integers");
    const auto b = static_cast<uint64_t>(*begin), e = static_cast<uint64_t>(*end);
    if (b > e) throw fail(tensor + "data_offsets [" + std::to_string(b) + ", " + std::to_string(e) + "] end before they begin");
    if (e > buffer_size)
      throw fail(tensor + "data_offsets [" + std::to_string(b) + ", " + std::to_string(e) +
                 "] lie outside the data buffer of " + std::to_string(buffer_size) + " bytes");

    auto numel = checked_numel(view.shape);
    int64_t nbytes = 0;
    if (!numel || __builtin_mul_overflow(*numel, static_cast<int64_t>(dtype_size(view.dtype)), &nbytes))
      throw fail(tensor + "shape " + shape_text(view.shape) + " has too many elements");
    if (static_cast<uint64_t>(nbytes) != e - b)
      throw fail(tensor + "shape " + shape_text(view.shape) + " of " + std::string(dtype_name(view.dtype)) + " needs " +
                 std::to_string(nbytes) + " bytes but data_offsets span " + std::to_string(e - b));
    view.data = buffer + b;
    view.nbytes = static_cast<size_t>(nbytes);
    spans.push_back({b, e, views.size()});
    views.push_back(std::move(view));
  }

  // Like the reference reader: tensors tile the data buffer exactly, so no
  // two overlap and no byte is unaccounted for (a sign of a damaged file).
  std::stable_sort(spans.begin(), spans.end(),
                   [](const Span& x, const Span& y) { return std::tie(x.begin, x.end) < std::tie(y.begin, y.end); });
  uint64_t covered = 0;
  const std::string* previous = nullptr;
  for (const Span& span : spans) {
    const std::string& name = views[span.index].name;
    if (span.begin < covered)
      throw fail("tensor " + base::quoted(name) + ": data_offsets overlap those of tensor " + base::quoted(*previous));
    if (span.begin > covered)
      throw fail("tensor " + base::quoted(name) + ": data_offsets begin at " + std::to_string(span.begin) +
                 ", leaving bytes " + std::to_string(covered) + ".." + std::to_string(span.begin) +
                 " of the data buffer unused");
    covered = span.end;
    previous = &name;
  }
  if (covered != buffer_size)
    throw fail("tensors cover " + std::to_string(covered) + " bytes of a data buffer of " +
               std::to_string(buffer_size) + " bytes");
  tensors_.reserve(views.size());
  for (const Span& span : spans) tensors_.push_back(std::move(views[span.index]));
}

const TensorView* SafetensorsFile::find(const std::string& name) const {
  for (const auto& view : tensors_)
    if (view.name == name) return &view;
  return nullptr;
}

const TensorView& SafetensorsFile::at(const std::string& name) const {
  if (const TensorView* view = find(name)) return *view;
  throw Error(path().string() + ": no tensor " + base::quoted(name));
}

SafetensorsModel::SafetensorsModel(const fs::path& dir) : dir_(dir) {
  const fs::path single = dir / "model.safetensors";
  const fs::path index_path = dir / "model.safetensors.index.json";
  std::error_code ec;
  // Like transformers: a single file wins over an index.
  if (fs::exists(single, ec)) {
    shards_.push_back(std::make_unique<SafetensorsFile>(single));
    for (const auto& view : shards_.back()->tensors()) by_name_[view.name] = &view;
    return;
  }
  if (!fs::exists(index_path, ec))
    throw Error(dir.string() + ": neither model.safetensors nor model.safetensors.index.json is there", ExitCode::io);

  const std::string where = index_path.string();
  const json::Json index = parse_untrusted(base::read_file(index_path), where, "key");
  if (!index.is_object()) throw Error(where + ": expected an object, got " + json::type_name(index));
  auto map = index.find("weight_map");
  if (map == index.end()) throw Error(where + ": missing \"weight_map\"");
  if (!map->is_object()) throw Error(where + ": \"weight_map\" is " + json::type_name(*map) + ", expected an object");

  // Shard names sort into shard order (model-00001-of-00003...).
  std::set<std::string> shard_names;
  for (const auto& [tensor, shard] : map->items()) {
    if (!shard.is_string())
      throw Error(where + ": weight_map " + base::quoted(tensor) + " is " + json::type_name(shard) + ", expected a file name");
    const std::string& name = shard.get_ref<const std::string&>();
    // Shards live next to the index; a path could reach outside the model.
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
        name.find('\\') != std::string::npos)
      throw Error(where + ": weight_map " + base::quoted(tensor) + " names " + base::quoted(name) + ", expected a file name");
    shard_names.insert(name);
  }
  std::map<std::string, const SafetensorsFile*> by_shard;
  std::map<std::string, std::string> owner;  // tensor -> the shard it was first seen in
  for (const std::string& name : shard_names) {
    const fs::path shard_path = dir / name;
    if (!fs::exists(shard_path, ec))
      throw Error(where + ": shard " + base::quoted(name) + " is missing (" + shard_path.string() + ")", ExitCode::io);
    shards_.push_back(std::make_unique<SafetensorsFile>(shard_path));
    by_shard[name] = shards_.back().get();
    for (const auto& view : shards_.back()->tensors()) {
      auto [it, inserted] = owner.emplace(view.name, name);
      if (!inserted)
        throw Error(where + ": tensor " + base::quoted(view.name) + " is in both " + base::quoted(it->second) + " and " +
                    base::quoted(name));
      by_name_[view.name] = &view;
    }
  }
  for (const auto& [tensor, shard] : map->items()) {
    const SafetensorsFile* file = by_shard.at(shard.get<std::string>());
    if (file->find(tensor) == nullptr)
      throw Error(where + ": weight_map puts tensor " + base::quoted(tensor) + " in " + base::quoted(shard.get<std::string>()) +
                  ", which lacks it");
  }
}

std::vector<const TensorView*> SafetensorsModel::tensors() const {
  std::vector<const TensorView*> out;
  for (const auto& shard : shards_)
    for (const auto& view : shard->tensors()) out.push_back(&view);
  return out;
}

const TensorView* SafetensorsModel::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

const TensorView& SafetensorsModel::at(const std::string& name) const {
  if (const TensorView* view = find(name)) return *view;
  throw Error(dir_.string() + ": no tensor " + base::quoted(name));
}

void SafetensorsWriter::add(std::string name, DType dtype, std::vector<int64_t> shape, Producer produce) {
  entries_.push_back({std::move(name), dtype, std::move(shape), std::move(produce)});
}

void SafetensorsWriter::add_bytes(std::string name, DType dtype, std::vector<int64_t> shape, std::string bytes) {
  add(std::move(name), dtype, std::move(shape), [bytes = std::move(bytes)](std::string& out) { out += bytes; });
}

void SafetensorsWriter::set_metadata(std::string key, std::string value) { metadata_[std::move(key)] = std::move(value); }

void SafetensorsWriter::write(const fs::path& path) const {
  const std::string where = path.string();
  auto fail = [&](const std::string& problem) -> Error { return Error(where + ": " + problem); };

  json::Json header = json::Json::object();
  // "format" first, as the reference writers put it; a caller may override its value.
  json::Json meta = json::Json::object();
  auto format = metadata_.find("format");
  meta["format"] = format == metadata_.end() ? std::string("pt") : format->second;
  for (const auto& [key, value] : metadata_) meta[key] = value;
  header["__metadata__"] = std::move(meta);

  std::vector<uint64_t> sizes;
  std::set<std::string_view> names;
  uint64_t offset = 0;
  for (const Entry& entry : entries_) {
    const std::string tensor = "tensor " + base::quoted(entry.name) + ": ";
    if (entry.name == "__metadata__") throw fail(tensor + "the name is reserved for metadata");
    if (!names.insert(entry.name).second) throw fail(tensor + "declared twice");
    auto numel = checked_numel(entry.shape);
    int64_t nbytes = 0;
    if (!numel || __builtin_mul_overflow(*numel, static_cast<int64_t>(dtype_size(entry.dtype)), &nbytes))
      throw fail(tensor + "shape " + shape_text(entry.shape) + " is negative or too large");
    const uint64_t end = offset + static_cast<uint64_t>(nbytes);
    json::Json item = json::Json::object();
    item["dtype"] = std::string(dtype_name(entry.dtype));
    item["shape"] = entry.shape;
    item["data_offsets"] = json::Json::array({offset, end});
    header[entry.name] = std::move(item);
    sizes.push_back(static_cast<uint64_t>(nbytes));
    offset = end;
  }

  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception&) {
    throw fail("a tensor name or metadata value is not valid UTF-8");
  }
  // Pad so the data buffer starts 8-aligned in the file (8 + N is a multiple of 8).
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string prefix(8, '\0');
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<char>((static_cast<uint64_t>(text.size()) >> (8 * i)) & 0xff);

  base::AtomicFile file(path);
  file.write(prefix);
  file.write(text);
  std::string bytes;
  for (size_t i = 0; i < entries_.size(); ++i) {
    bytes.clear();
    entries_[i].produce(bytes);
    if (bytes.size() != sizes[i])
      throw fail("tensor " + base::quoted(entries_[i].name) + ": produced " + std::to_string(bytes.size()) +
                 " bytes, its shape needs " + std::to_string(sizes[i]));
    file.write(bytes);
  }
  file.commit();
}

}  // namespace josi::formats
