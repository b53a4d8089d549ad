#include "formats/gguf.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <unordered_set>

#include "base/error.hpp"
#include "base/strings.hpp"
#include "base/files.hpp"

namespace josi::formats {

// Fields are copied out with memcpy as they lie in the file.
static_assert(std::endian::native == std::endian::little, "GGUF is read and written as little-endian");

namespace {

constexpr uint8_t kMagic[4] = {'G', 'G', 'U', 'F'};
constexpr uint32_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;         // GGML_MAX_DIMS
constexpr size_t kMaxTensorName = 63;    // GGML_MAX_NAME is 64 with the terminator
// Nested arrays recurse; a hostile file could nest one per 12 bytes and
// overflow the stack. Real files nest at most once.
constexpr int kMaxArrayDepth = 16;
// Smallest encodings, used to refuse counts that cannot fit before reserving.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;              // empty key, type, u8
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // empty name, n_dims, 1 dim, type, offset

bool known_value_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufValueType::F64); }

// Bytes of one element of a fixed-size type; 0 for string and array.
size_t fixed_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::BOOL: return 1;
    case GgufValueType::U16: case GgufValueType::I16: return 2;
    case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::F32: return 4;
    case GgufValueType::U64: case GgufValueType::I64: case GgufValueType::F64: return 8;
    case GgufValueType::STRING: case GgufValueType::ARRAY: return 0;
  }
  return 0;
}

uint64_t min_encoded_size(GgufValueType t) {
  if (t == GgufValueType::STRING) return 8;
  if (t == GgufValueType::ARRAY) return 4 + 8;
  return fixed_size(t);
}

bool is_unsigned(GgufValueType t) {
  return t == GgufValueType::U8 || t == GgufValueType::U16 || t == GgufValueType::U32 || t == GgufValueType::U64;
}
bool is_signed(GgufValueType t) {
  return t == GgufValueType::I8 || t == GgufValueType::I16 || t == GgufValueType::I32 || t == GgufValueType::I64;
}

uint64_t align_up(uint64_t n, uint64_t alignment) { return (n + alignment - 1) / alignment * alignment; }

std::string type_label(uint32_t t) {
  if (!known_value_type(t)) return "type " + std::to_string(t);
  return std::string(gguf_value_type_name(static_cast<GgufValueType>(t)));
}

// A bounds-checked cursor over the mapped file. Every failure names the file,
// what was being read and where.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size, std::string path) : data_(data), size_(size), path_(std::move(path)) {}

  size_t pos() const { return pos_; }
  uint64_t left() const { return size_ - pos_; }
  void set_context(std::string context) { context_ = std::move(context); }

  // `at`: whether the read position locates the problem (not so for checks
  // made after all infos are read).
  [[noreturn]] void fail(const std::string& what, bool at = true) const {
    std::string msg = path_ + ": ";
    if (!context_.empty()) msg += context_ + ": ";
    msg += what;
    if (at) msg += " (at byte " + std::to_string(pos_) + ")";
    throw Error(msg);
  }

  void need(uint64_t n, const char* what) const {
    if (n > left())
      fail(std::string("truncated: ") + what + " needs " + std::to_string(n) + " bytes, " + std::to_string(left()) +
           " left");
  }

  template <class T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }

  std::string read_string(const char* what) {
    uint64_t n = read<uint64_t>(what);
    need(n, what);  // before allocating: a length of 2^63 must not reach std::string
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }

  GgufValueType read_value_type(const char* what) {
    uint32_t t = read<uint32_t>(what);
    if (!known_value_type(t)) {
      pos_ -= 4;
      fail("unknown value type " + std::to_string(t));
    }
    return static_cast<GgufValueType>(t);
  }

  GgufValue read_value(GgufValueType type, int depth) {
    switch (type) {
      case GgufValueType::U8: return GgufValue::u8(read<uint8_t>("u8"));
      case GgufValueType::I8: return GgufValue::i8(read<int8_t>("i8"));
      case GgufValueType::U16: return GgufValue::u16(read<uint16_t>("u16"));
      case GgufValueType::I16: return GgufValue::i16(read<int16_t>("i16"));
      case GgufValueType::U32: return GgufValue::u32(read<uint32_t>("u32"));
      case GgufValueType::I32: return GgufValue::i32(read<int32_t>("i32"));
      case GgufValueType::U64: return GgufValue::u64(read<uint64_t>("u64"));
      case GgufValueType::I64: return GgufValue::i64(read<int64_t>("i64"));
      case GgufValueType::F32: return GgufValue::f32(read<float>("f32"));
      case GgufValueType::F64: return GgufValue::f64(read<double>("f64"));
      case GgufValueType::BOOL: {
        uint8_t b = read<uint8_t>("bool");
        // The GGUF spec calls anything but 0 and 1 invalid.
        if (b > 1) {
          pos_ -= 1;
          fail("bool value " + std::to_string(b) + " is neither 0 nor 1");
        }
        return GgufValue::boolean(b == 1);
      }
      case GgufValueType::STRING: return GgufValue::string(read_string("string"));
      case GgufValueType::ARRAY: return read_array(depth);
    }
    fail("unknown value type");
  }

 private:
  GgufValue read_array(int depth) {
    if (depth >= kMaxArrayDepth) fail("arrays nested deeper than " + std::to_string(kMaxArrayDepth));
    GgufValueType element = read_value_type("array element type");
    uint64_t count = read<uint64_t>("array count");
    uint64_t min = min_encoded_size(element);
    if (count > left() / min)
      fail("array of " + std::to_string(count) + " " + type_label(static_cast<uint32_t>(element)) +
           " values cannot fit in the " + std::to_string(left()) + " bytes left");
    auto array = std::make_shared<GgufArray>();
    array->element_type = element;
    array->elements.reserve(static_cast<size_t>(count));
    for (uint64_t i = 0; i < count; ++i) array->elements.push_back(read_value(element, depth + 1));
    GgufValue v;
    v.type = GgufValueType::ARRAY;
    v.value = std::move(array);
    return v;
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string path_;
  std::string context_;
};

// ---- writing ----

template <class T>
void put(std::string& out, T v) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof v);
  out.append(bytes, sizeof v);
}

void put_string(std::string& out, std::string_view s) {
  put<uint64_t>(out, s.size());
  out.append(s);
}

[[noreturn]] void bad_value(const std::string& key, const std::string& what) {
  throw Error("GGUF metadata " + base::quoted(key) + ": " + what);
}

template <class T>
const T& held(const GgufValue& v, const std::string& key) {
  const T* p = std::get_if<T>(&v.value);
  if (!p) bad_value(key, std::string("value does not hold a ") + std::string(gguf_value_type_name(v.type)));
  return *p;
}

template <class T>
void put_unsigned(std::string& out, const GgufValue& v, const std::string& key) {
  uint64_t x = held<uint64_t>(v, key);
  if (x > std::numeric_limits<T>::max()) bad_value(key, std::to_string(x) + " does not fit its type");
  put<T>(out, static_cast<T>(x));
}

template <class T>
void put_signed(std::string& out, const GgufValue& v, const std::string& key) {
  int64_t x = held<int64_t>(v, key);
  if (x < std::numeric_limits<T>::min() || x > std::numeric_limits<T>::max())
    bad_value(key, std::to_string(x) + " does not fit its type");
  put<T>(out, static_cast<T>(x));
}

// The value's payload, without its type tag (arrays carry their element type).
void put_value(std::string& out, const GgufValue& v, const std::string& key, int depth) {
  switch (v.type) {
    case GgufValueType::U8: return put_unsigned<uint8_t>(out, v, key);
    case GgufValueType::U16: return put_unsigned<uint16_t>(out, v, key);
    case GgufValueType::U32: return put_unsigned<uint32_t>(out, v, key);
    case GgufValueType::U64: return put_unsigned<uint64_t>(out, v, key);
    case GgufValueType::I8: return put_signed<int8_t>(out, v, key);
    case GgufValueType::I16: return put_signed<int16_t>(out, v, key);
    case GgufValueType::I32: return put_signed<int32_t>(out, v, key);
    case GgufValueType::I64: return put_signed<int64_t>(out, v, key);
    case GgufValueType::F32: {
      double d = held<double>(v, key);
      // A finite double beyond float's range would be undefined to convert.
      if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max())
        bad_value(key, "value out of f32 range");
      return put<float>(out, static_cast<float>(d));
    }
    case GgufValueType::F64: return put<double>(out, held<double>(v, key));
    case GgufValueType::BOOL: return put<uint8_t>(out, held<bool>(v, key) ? 1 : 0);
    case GgufValueType::STRING: return put_string(out, held<std::string>(v, key));
    case GgufValueType::ARRAY: {
      const auto& array = held<std::shared_ptr<GgufArray>>(v, key);
      if (!array) bad_value(key, "null array");
      if (depth >= kMaxArrayDepth) bad_value(key, "arrays nested deeper than " + std::to_string(kMaxArrayDepth));
      if (!known_value_type(static_cast<uint32_t>(array->element_type))) bad_value(key, "unknown element type");
      put<uint32_t>(out, static_cast<uint32_t>(array->element_type));
      put<uint64_t>(out, array->elements.size());
      for (const auto& e : array->elements) {
        if (e.type != array->element_type)
          bad_value(key, std::string("array of ") + std::string(gguf_value_type_name(array->element_type)) +
                             " holds a " + std::string(gguf_value_type_name(e.type)));
        put_value(out, e, key, depth + 1);
      }
      return;
    }
  }
  bad_value(key, "unknown value type " + std::to_string(static_cast<uint32_t>(v.type)));
}

// Checks dims and type as the reader will: empty on success with `nbytes`
// set, else what is wrong.
std::string check_tensor(const std::vector<uint64_t>& dims, GgmlType type, uint64_t& nbytes) {
  if (dims.empty()) return "has no dimensions";
  if (dims.size() > kMaxDims) return "has " + std::to_string(dims.size()) + " dimensions, at most 4";
  auto info = ggml_type_info(static_cast<uint32_t>(type));
  if (!info) return "unknown ggml type " + std::to_string(static_cast<uint32_t>(type));
  // ggml holds element counts in int64_t.
  constexpr uint64_t kMaxElements = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t numel = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 0) return "dimension " + std::to_string(i) + " is zero";
    if (dims[i] > kMaxElements / numel) return "element count overflows";
    numel *= dims[i];
  }
  auto row = ggml_row_bytes(type, dims[0]);
  if (!row)
    return "row length " + std::to_string(dims[0]) + " is not a multiple of " + std::string(info->name) +
           "'s block size " + std::to_string(info->block_size);
  uint64_t rows = numel / dims[0];
  if (rows > std::numeric_limits<uint64_t>::max() / *row) return "byte count overflows";
  nbytes = *row * rows;
  return {};
}

uint64_t tensor_bytes(const std::string& name, const std::vector<uint64_t>& dims, GgmlType type) {
  uint64_t nbytes = 0;
  std::string problem = check_tensor(dims, type, nbytes);
  if (!problem.empty()) throw Error("GGUF tensor " + base::quoted(name) + ": " + problem);
  return nbytes;
}

}  // namespace

// ---- values ----

std::string_view gguf_value_type_name(GgufValueType type) {
  switch (type) {
    case GgufValueType::U8: return "u8";
    case GgufValueType::I8: return "i8";
    case GgufValueType::U16: return "u16";
    case GgufValueType::I16: return "i16";
    case GgufValueType::U32: return "u32";
    case GgufValueType::I32: return "i32";
    case GgufValueType::F32: return "f32";
    case GgufValueType::BOOL: return "bool";
    case GgufValueType::STRING: return "string";
    case GgufValueType::ARRAY: return "array";
    case GgufValueType::U64: return "u64";
    case GgufValueType::I64: return "i64";
    case GgufValueType::F64: return "f64";
  }
  return "unknown";
}

namespace {
GgufValue make(GgufValueType type, decltype(GgufValue::value) value) {
  GgufValue v;
  v.type = type;
  v.value = std::move(value);
  return v;
}
}  // namespace

GgufValue GgufValue::u8(uint8_t v) { return make(GgufValueType::U8, uint64_t{v}); }
GgufValue GgufValue::i8(int8_t v) { return make(GgufValueType::I8, int64_t{v}); }
GgufValue GgufValue::u16(uint16_t v) { return make(GgufValueType::U16, uint64_t{v}); }
GgufValue GgufValue::i16(int16_t v) { return make(GgufValueType::I16, int64_t{v}); }
GgufValue GgufValue::u32(uint32_t v) { return make(GgufValueType::U32, uint64_t{v}); }
GgufValue GgufValue::i32(int32_t v) { return make(GgufValueType::I32, int64_t{v}); }
GgufValue GgufValue::u64(uint64_t v) { return make(GgufValueType::U64, v); }
GgufValue GgufValue::i64(int64_t v) { return make(GgufValueType::I64, v); }
GgufValue GgufValue::f32(float v) { return make(GgufValueType::F32, double{v}); }
GgufValue GgufValue::f64(double v) { return make(GgufValueType::F64, v); }
GgufValue GgufValue::boolean(bool v) { return make(GgufValueType::BOOL, v); }
GgufValue GgufValue::string(std::string v) { return make(GgufValueType::STRING, std::move(v)); }

GgufValue GgufValue::array(GgufValueType element_type, std::vector<GgufValue> elements) {
  for (size_t i = 0; i < elements.size(); ++i)
    if (elements[i].type != element_type)
      throw Error("GGUF array of " + std::string(gguf_value_type_name(element_type)) + ": element " +
                  std::to_string(i) + " is a " + std::string(gguf_value_type_name(elements[i].type)));
  auto array = std::make_shared<GgufArray>();
  array->element_type = element_type;
  array->elements = std::move(elements);
  return make(GgufValueType::ARRAY, std::move(array));
}

GgufValue GgufValue::string_array(const std::vector<std::string>& v) {
  std::vector<GgufValue> elements;
  elements.reserve(v.size());
  for (const auto& s : v) elements.push_back(string(s));
  return array(GgufValueType::STRING, std::move(elements));
}

GgufValue GgufValue::i32_array(const std::vector<int32_t>& v) {
  std::vector<GgufValue> elements;
  elements.reserve(v.size());
  for (int32_t x : v) elements.push_back(i32(x));
  return array(GgufValueType::I32, std::move(elements));
}

GgufValue GgufValue::f32_array(const std::vector<float>& v) {
  std::vector<GgufValue> elements;
  elements.reserve(v.size());
  for (float x : v) elements.push_back(f32(x));
  return array(GgufValueType::F32, std::move(elements));
}

namespace {
[[noreturn]] void expected(const std::string& key, const char* what, const GgufValue& v) {
  throw Error(key + ": expected " + what + ", got " + std::string(gguf_value_type_name(v.type)));
}
}  // namespace

uint64_t GgufValue::as_uint(const std::string& key) const {
  if (is_unsigned(type)) {
    if (const auto* p = std::get_if<uint64_t>(&value)) return *p;
  } else if (is_signed(type)) {
    if (const auto* p = std::get_if<int64_t>(&value)) {
      if (*p < 0) throw Error(key + ": expected a non-negative integer, got " + std::to_string(*p));
      return static_cast<uint64_t>(*p);
    }
  }
  expected(key, "an unsigned integer", *this);
}

int64_t GgufValue::as_int(const std::string& key) const {
  if (is_signed(type)) {
    if (const auto* p = std::get_if<int64_t>(&value)) return *p;
  } else if (is_unsigned(type)) {
    if (const auto* p = std::get_if<uint64_t>(&value)) {
      if (*p > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        throw Error(key + ": " + std::to_string(*p) + " does not fit a signed 64-bit integer");
      return static_cast<int64_t>(*p);
    }
  }
  expected(key, "an integer", *this);
}

double GgufValue::as_float(const std::string& key) const {
  if (type == GgufValueType::F32 || type == GgufValueType::F64)
    if (const auto* p = std::get_if<double>(&value)) return *p;
  expected(key, "a float", *this);
}

bool GgufValue::as_bool(const std::string& key) const {
  if (type == GgufValueType::BOOL)
    if (const auto* p = std::get_if<bool>(&value)) return *p;
  expected(key, "a bool", *this);
}

const std::string& GgufValue::as_string(const std::string& key) const {
  if (type == GgufValueType::STRING)
    if (const auto* p = std::get_if<std::string>(&value)) return *p;
  expected(key, "a string", *this);
}

const GgufArray& GgufValue::as_array(const std::string& key) const {
  if (type == GgufValueType::ARRAY)
    if (const auto* p = std::get_if<std::shared_ptr<GgufArray>>(&value); p && *p) return **p;
  expected(key, "an array", *this);
}

uint64_t GgufTensorInfo::numel() const {
  uint64_t n = 1;
  for (uint64_t d : dims) n *= d;
  return n;
}

// ---- reading ----

GgufFile::GgufFile(const std::filesystem::path& path) : file_(path) {
  const std::string name = path.string();
  Reader r(file_.data(), file_.size(), name);

  if (file_.size() < 4 || std::memcmp(file_.data(), kMagic, 4) != 0) r.fail("not a GGUF file (bad magic)");
  r.read<uint32_t>("magic");
  version_ = r.read<uint32_t>("version");
  if (version_ != 2 && version_ != 3) {
    // A big-endian v2/v3 file reads as 0x02000000 / 0x03000000 here.
    if (version_ == 0x02000000u || version_ == 0x03000000u) r.fail("big-endian GGUF is not supported");
    r.fail("unsupported GGUF version " + std::to_string(version_) + " (only 2 and 3)");
  }
  uint64_t tensor_count = r.read<uint64_t>("tensor count");
  uint64_t kv_count = r.read<uint64_t>("metadata count");
  if (kv_count > r.left() / kMinKvBytes)
    r.fail(std::to_string(kv_count) + " metadata entries cannot fit in the " + std::to_string(r.left()) +
           " bytes left");
  if (tensor_count > (r.left() - kv_count * kMinKvBytes) / kMinTensorInfoBytes)
    r.fail(std::to_string(tensor_count) + " tensor infos cannot fit in the " + std::to_string(r.left()) +
           " bytes left");

  metadata_.reserve(static_cast<size_t>(kv_count));
  std::unordered_set<std::string> keys;
  for (uint64_t i = 0; i < kv_count; ++i) {
    r.set_context("metadata entry " + std::to_string(i));
    std::string key = r.read_string("key");
    r.set_context("metadata " + base::quoted(key));
    if (!keys.insert(key).second) r.fail("duplicate key");
    GgufValueType type = r.read_value_type("value type");
    GgufValue value = r.read_value(type, 0);
    if (key == "general.alignment") {
      if (type != GgufValueType::U32) r.fail("must be a u32, got " + std::string(gguf_value_type_name(type)));
      uint64_t a = std::get<uint64_t>(value.value);
      if (!std::has_single_bit(a)) r.fail("alignment " + std::to_string(a) + " is not a power of two");
      alignment_ = static_cast<uint32_t>(a);
    }
    metadata_.emplace_back(std::move(key), std::move(value));
  }

  tensors_.reserve(static_cast<size_t>(tensor_count));
  std::unordered_set<std::string> names;
  for (uint64_t i = 0; i < tensor_count; ++i) {
    r.set_context("tensor info " + std::to_string(i));
    GgufTensorInfo t;
    t.name = r.read_string("tensor name");
    r.set_context("tensor " + base::quoted(t.name));
    if (!names.insert(t.name).second) r.fail("duplicate tensor name");
    uint32_t n_dims = r.read<uint32_t>("dimension count");
    if (n_dims == 0) r.fail("has no dimensions");
    if (n_dims > kMaxDims) r.fail("has " + std::to_string(n_dims) + " dimensions, at most 4");
    t.dims.resize(n_dims);
    for (auto& d : t.dims) d = r.read<uint64_t>("dimension");
    uint32_t type = r.read<uint32_t>("ggml type");
    if (!ggml_type_info(type)) r.fail("unknown ggml type " + std::to_string(type));
    t.type = static_cast<GgmlType>(type);
    if (std::string problem = check_tensor(t.dims, t.type, t.nbytes); !problem.empty()) r.fail(problem);
    t.offset = r.read<uint64_t>("tensor offset");
    if (t.offset % alignment_ != 0)
      r.fail("offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
             std::to_string(alignment_));
    tensors_.push_back(std::move(t));
  }
  r.set_context("");

  data_offset_ = align_up(r.pos(), alignment_);
  const uint64_t size = file_.size();
  for (const auto& t : tensors_) {
    uint64_t room = data_offset_ <= size ? size - data_offset_ : 0;
    if (t.offset > room || t.nbytes > room - t.offset)
      r.fail("tensor " + base::quoted(t.name) + ": data at " + std::to_string(t.offset) + " + " +
             std::to_string(t.nbytes) + " bytes runs past the end of the file (data section " +
             std::to_string(data_offset_) + ", file " + std::to_string(size) + " bytes)",
             false);
  }
  std::vector<size_t> order(tensors_.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors_[a].offset < tensors_[b].offset; });
  for (size_t i = 1; i < order.size(); ++i) {
    const auto& prev = tensors_[order[i - 1]];
    const auto& cur = tensors_[order[i]];
    if (prev.offset + prev.nbytes > cur.offset)
      r.fail("tensors " + base::quoted(prev.name) + " and " + base::quoted(cur.name) + " overlap", false);
  }
}

const GgufValue* GgufFile::find(const std::string& key) const {
  for (const auto& [k, v] : metadata_)
    if (k == key) return &v;
  return nullptr;
}

void GgufFile::release(const std::string& key) {
  std::erase_if(metadata_, [&](const auto& kv) { return kv.first == key; });
  metadata_.shrink_to_fit();
}

const GgufValue& GgufFile::at(const std::string& key) const {
  if (const GgufValue* v = find(key)) return *v;
  throw Error(path().string() + ": missing metadata key " + key);
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

const uint8_t* GgufFile::tensor_data(const GgufTensorInfo& tensor) const {
  // Tensors of this file were checked on open; this guards a foreign info.
  uint64_t room = file_.size() - std::min<uint64_t>(data_offset_, file_.size());
  if (tensor.offset > room || tensor.nbytes > room - tensor.offset)
    throw Error(path().string() + ": tensor " + base::quoted(tensor.name) + " lies outside the file");
  return file_.data() + data_offset_ + tensor.offset;
}

// ---- writing ----

GgufWriter::GgufWriter(uint32_t version) : version_(version) {
  if (version != 2 && version != 3)
    throw Error("cannot write GGUF version " + std::to_string(version) + " (only 2 and 3)", ExitCode::usage);
}

void GgufWriter::set(const std::string& key, GgufValue value) {
  for (auto& [k, v] : metadata_)
    if (k == key) {
      v = std::move(value);
      return;
    }
  metadata_.emplace_back(key, std::move(value));
}

void GgufWriter::remove(const std::string& key) {
  std::erase_if(metadata_, [&](const auto& kv) { return kv.first == key; });
}

void GgufWriter::add_tensor(std::string name, std::vector<uint64_t> dims, GgmlType type, Producer produce) {
  // llama.cpp stores names in a fixed 64-byte field; refuse what it cannot load.
  if (name.size() > kMaxTensorName)
    throw Error("GGUF tensor " + base::quoted(name) + ": name longer than " + std::to_string(kMaxTensorName) + " bytes");
  for (const auto& e : tensors_)
    if (e.name == name) throw Error("GGUF tensor " + base::quoted(name) + ": added twice");
  tensor_bytes(name, dims, type);  // fail here, at the caller, rather than mid-write
  tensors_.push_back({std::move(name), std::move(dims), type, std::move(produce)});
}

void GgufWriter::write(const std::filesystem::path& path) const {
  const std::string where = path.string() + ": ";
  uint64_t alignment = kDefaultAlignment;
  for (const auto& [k, v] : metadata_)
    if (k == "general.alignment") {
      const uint64_t* a = std::get_if<uint64_t>(&v.value);
      if (v.type != GgufValueType::U32 || !a || !std::has_single_bit(*a) || *a > UINT32_MAX)
        throw Error(where + "general.alignment must be a power-of-two u32");
      alignment = *a;
    }

  std::string head;
  head.append(reinterpret_cast<const char*>(kMagic), 4);
  put<uint32_t>(head, version_);
  put<uint64_t>(head, tensors_.size());
  put<uint64_t>(head, metadata_.size());
  try {
    for (const auto& [k, v] : metadata_) {
      put_string(head, k);
      put<uint32_t>(head, static_cast<uint32_t>(v.type));
      put_value(head, v, k, 0);
    }
  } catch (const Error& e) {
    throw Error(where + e.what());
  }

  std::vector<uint64_t> sizes;
  sizes.reserve(tensors_.size());
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    uint64_t nbytes = tensor_bytes(t.name, t.dims, t.type);
    sizes.push_back(nbytes);
    put_string(head, t.name);
    put<uint32_t>(head, static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims) put<uint64_t>(head, d);
    put<uint32_t>(head, static_cast<uint32_t>(t.type));
    put<uint64_t>(head, offset);
    offset = align_up(offset + nbytes, alignment);
  }
  head.resize(align_up(head.size(), alignment), '\0');

  base::AtomicFile file(path);
  file.write(head);
  head.clear();
  head.shrink_to_fit();  // the vocabulary can be megabytes; keep memory near one tensor

  std::string buffer;
  const std::string zeros(alignment, '\0');
  for (size_t i = 0; i < tensors_.size(); ++i) {
    buffer.clear();
    tensors_[i].produce(buffer);
    if (buffer.size() != sizes[i])
      throw Error(where + "tensor " + base::quoted(tensors_[i].name) + ": producer gave " +
                  std::to_string(buffer.size()) + " bytes, expected " + std::to_string(sizes[i]));
    file.write(buffer);
    // Pad after every tensor, the last included, as ggml's own writer does.
    file.write(std::string_view(zeros).substr(0, align_up(sizes[i], alignment) - sizes[i]));
  }
  file.commit();
}

// ---- version patch ----

uint32_t gguf_set_version(const std::filesystem::path& in, const std::filesystem::path& out, uint32_t version) {
  if (version != 2 && version != 3)
    throw Error("cannot set GGUF version " + std::to_string(version) + " (only 2 and 3)", ExitCode::usage);
  GgufFile file(in);  // validates the whole structure, not just the magic
  const uint8_t* data = file.file().data();
  const size_t size = file.file().size();

  base::AtomicFile dest(out);
  auto bytes = [&](size_t from, size_t n) { return std::string_view(reinterpret_cast<const char*>(data) + from, n); };
  dest.write(bytes(0, 4));
  char v[4];
  std::memcpy(v, &version, 4);
  dest.write(std::string_view(v, 4));
  // Copy from the map in chunks: the page cache holds the model, not the heap.
  constexpr size_t kChunk = size_t{4} << 20;
  for (size_t pos = 8; pos < size; pos += kChunk) dest.write(bytes(pos, std::min(kChunk, size - pos)));
  dest.commit();
  return file.version();
}

}  // namespace josi::formats
