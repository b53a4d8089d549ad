#include "infer/adapter.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <utility>

#include "base/error.hpp"
#include "formats/gguf.hpp"
#include "kernels/matmul.hpp"
#include "quant/block_quant.hpp"

namespace josi::infer {
namespace {

using formats::GgmlType;
using formats::GgufTensorInfo;

// The groups: which projections (indices into adapted_projection_names) read one input.
constexpr std::array<std::array<int, 3>, 4> kGroups = {{{0, 1, 2}, {3, -1, -1}, {4, 5, -1}, {6, -1, -1}}};

const Weight& base_weight(const LayerWeights& l, int projection) {
  const std::array<const Weight*, 7> weights = {&l.wq, &l.wk, &l.wv, &l.wo, &l.gate, &l.up, &l.down};
  return *weights[static_cast<size_t>(projection)];
}

struct Factors {
  const GgufTensorInfo* a = nullptr;
  const GgufTensorInfo* b = nullptr;
};

std::string dims_text(const std::vector<uint64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

// "blk.3.attn_q.weight.lora_a" -> layer 3, projection 0, factor 'a'.
bool parse_name(const std::string& name, int64_t& layer, int& projection, char& factor) {
  if (name.rfind("blk.", 0) != 0) return false;
  size_t pos = 4, end = name.find('.', pos);
  if (end == std::string::npos || end == pos || end - pos > 6) return false;
  for (size_t i = pos; i < end; ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  layer = std::stoll(name.substr(pos, end - pos));
  const std::string rest = name.substr(end + 1);
  for (const char* suffix : {".weight.lora_a", ".weight.lora_b"}) {
    const std::string s(suffix);
    if (rest.size() <= s.size() || rest.compare(rest.size() - s.size(), s.size(), s) != 0) continue;
    const std::string proj = rest.substr(0, rest.size() - s.size());
    for (size_t i = 0; i < adapted_projection_names().size(); ++i)
      if (proj == adapted_projection_names()[i]) {
        projection = static_cast<int>(i);
        factor = s.back();
        return true;
      }
  }
  return false;
}

void check_metadata(const formats::GgufFile& file, const Model& base) {
  const std::string& where = file.path().string();
  const auto* type = file.find("general.type");
  const std::string general_type = type ? type->as_string("general.type") : "";
  if (general_type != "adapter")
    throw Error(fmt::format("{}: not a LoRA adapter (general.type is {})", where,
                            type ? "'" + general_type + "'" : std::string("missing")));
  const auto* adapter_type = file.find("adapter.type");
  if (!adapter_type || adapter_type->as_string("adapter.type") != "lora")
    throw Error(fmt::format("{}: adapter.type is {}, expected 'lora'", where,
                            adapter_type ? "'" + adapter_type->as_string("adapter.type") + "'" : std::string("missing")));
  const std::string arch = file.at("general.architecture").as_string("general.architecture");
  const auto& h = base.hparams();
  if (arch != h.architecture)
    throw Error(fmt::format("{}: an adapter for a {} model, but the base {} is {}", where, arch, base.path().string(),
                            h.architecture));
  // The base's shape, where the adapter states it.
  const std::pair<const char*, int64_t> keys[] = {{"block_count", h.n_layer},
                                                  {"embedding_length", h.n_embd},
                                                  {"feed_forward_length", h.n_ff},
                                                  {"attention.head_count", h.n_head},
                                                  {"attention.head_count_kv", h.n_head_kv}};
  for (const auto& [key, expected] : keys) {
    const std::string full = arch + "." + key;
    const auto* v = file.find(full);
    if (v && static_cast<int64_t>(v->as_uint(full)) != expected)
      throw Error(fmt::format("{}: an adapter for a base with {} = {}, but the base {} has {}", where, full,
                              v->as_uint(full), base.path().string(), expected));
  }
}

// `rows` rows of `len` values of `from` at `src`, as floats at `dst`.
void dequantize_rows(GgmlType from, const uint8_t* src, float* dst, int64_t rows, int64_t len) {
  const size_t from_row = *formats::ggml_row_bytes(from, static_cast<uint64_t>(len));
  for (int64_t r = 0; r < rows; ++r) quant::dequantize_row(from, src + static_cast<size_t>(r) * from_row, dst + r * len, len);
}

}  // namespace

const std::array<const char*, 7>& adapted_projection_names() {
  static const std::array<const char*, 7> names = {"attn_q",      "attn_k",   "attn_v",  "attn_output",
                                                   "ffn_gate",    "ffn_up",   "ffn_down"};
  return names;
}

Adapter::Adapter(const std::filesystem::path& path, const Model& base) : path_(path), base_(base) {
  const formats::GgufFile file(path);
  const std::string where = path.string();
  check_metadata(file, base);
  const auto* alpha = file.find("adapter.lora.alpha");
  if (!alpha) throw Error(where + ": missing adapter.lora.alpha (the LoRA scale is alpha / rank)");
  const double a = alpha->as_float("adapter.lora.alpha");
  if (!(a > 0) || !std::isfinite(a)) throw Error(fmt::format("{}: adapter.lora.alpha = {} must be positive", where, a));
  alpha_ = static_cast<float>(a);
  trained_as_ = formats::trained_as(file, where);

  const auto& h = base.hparams();
  std::map<std::pair<int64_t, int>, Factors> found;
  bool all_f16 = true;
  for (const auto& t : file.tensors()) {
    int64_t layer = 0;
    int projection = 0;
    char factor = 0;
    if (!parse_name(t.name, layer, projection, factor))
      throw Error(fmt::format("{}: tensor {} is not a LoRA factor of a projection Josi adapts ({}.weight.lora_a|b of "
                              "attn_q/k/v/output, ffn_gate/up/down)", where, t.name, "blk.N.<proj>"));
    if (layer >= h.n_layer)
      throw Error(fmt::format("{}: tensor {} is for layer {}, but the base {} has {} layers", where, t.name, layer,
                              base.path().string(), h.n_layer));
    if (t.type != GgmlType::F32 && t.type != GgmlType::F16 && t.type != GgmlType::BF16)
      throw Error(fmt::format("{}: tensor {} has type {} (expected F32, F16 or BF16)", where, t.name,
                              formats::ggml_type_info(t.type).name));
    all_f16 = all_f16 && t.type == GgmlType::F16;
    auto& f = found[{layer, projection}];
    (factor == 'a' ? f.a : f.b) = &t;
  }
  if (found.empty()) throw Error(where + ": the adapter has no LoRA factors");
  const GgmlType type = all_f16 ? GgmlType::F16 : GgmlType::F32;

  // Checks every pair against its base projection and notes its rank.
  std::map<std::pair<int64_t, int>, int64_t> ranks;
  for (const auto& [key, f] : found) {
    const std::string name = fmt::format("blk.{}.{}.weight", key.first, adapted_projection_names()[static_cast<size_t>(key.second)]);
    if (!f.a || !f.b) throw Error(fmt::format("{}: {} has lora_{} but not lora_{}", where, name, f.a ? 'a' : 'b', f.a ? 'b' : 'a'));
    const Weight& w = base_weight(base.layers()[static_cast<size_t>(key.first)], key.second);
    const auto& da = f.a->dims;
    const auto& db = f.b->dims;
    if (da.size() != 2 || db.size() != 2 || da[0] != static_cast<uint64_t>(w.cols) || db[1] != static_cast<uint64_t>(w.rows) ||
        da[1] == 0)
      throw Error(fmt::format("{}: {}.lora_a {} and .lora_b {} do not fit the base's [{}, {}] (an adapter for another base?)",
                              where, name, dims_text(da), dims_text(db), w.cols, w.rows));
    if (da[1] != db[0])
      throw Error(fmt::format("{}: {} has rank {} in lora_a but {} in lora_b", where, name, da[1], db[0]));
    if (da[1] > 4096) throw Error(fmt::format("{}: {} has rank {}, more than 4096", where, name, da[1]));
    ranks[key] = static_cast<int64_t>(da[1]);
  }

  // The groups' shapes first, so that every factor's panels go into one buffer.
  layers_.resize(static_cast<size_t>(h.n_layer));
  for (int64_t il = 0; il < h.n_layer; ++il) {
    const std::array<AdapterGroup*, 4> groups = layers_[static_cast<size_t>(il)].groups();
    for (size_t g = 0; g < kGroups.size(); ++g) {
      AdapterGroup& group = *groups[g];
      group.type = type;
      for (size_t o = 0; o < 3; ++o) {
        const int p = kGroups[g][o];
        if (p < 0 || !ranks.count({il, p})) continue;
        group.outputs[o].rank = ranks[{il, p}];
        group.outputs[o].offset = group.rank;
        group.outputs[o].scale = alpha_ / static_cast<float>(ranks[{il, p}]);
        group.rank += ranks[{il, p}];
        group.cols = base_weight(base.layers()[static_cast<size_t>(il)], p).cols;
        bytes_ += kernels::panels_bytes(type, static_cast<int64_t>(found[{il, p}].b->dims[1]), group.outputs[o].rank);
        ++adapted_;
      }
      if (group.rank > 0) bytes_ += kernels::panels_bytes(type, group.rank, group.cols);
    }
  }

  factors_ = base::LargeBuffer(bytes_);
  uint8_t* next = factors_.data();
  const auto store = [&](const std::vector<uint8_t>& panels) {
    if (next + panels.size() > factors_.data() + factors_.size())
      throw Error(where + ": the adapter's panels outgrew their buffer");  // the sizing above is wrong
    std::memcpy(next, panels.data(), panels.size());
    return std::exchange(next, next + panels.size());
  };
  for (int64_t il = 0; il < h.n_layer; ++il) {
    const std::array<AdapterGroup*, 4> groups = layers_[static_cast<size_t>(il)].groups();
    for (size_t g = 0; g < kGroups.size(); ++g) {
      AdapterGroup& group = *groups[g];
      if (group.rank == 0) continue;
      std::vector<float> a(static_cast<size_t>(group.rank * group.cols)), b;
      for (size_t o = 0; o < 3; ++o) {
        AdaptedOutput& out = group.outputs[o];
        if (out.rank == 0) continue;
        const Factors& f = found[{il, kGroups[g][o]}];
        dequantize_rows(f.a->type, file.tensor_data(*f.a), &a[static_cast<size_t>(out.offset * group.cols)], out.rank,
                        group.cols);
        const int64_t rows = static_cast<int64_t>(f.b->dims[1]);
        b.resize(static_cast<size_t>(rows * out.rank));
        dequantize_rows(f.b->type, file.tensor_data(*f.b), b.data(), rows, out.rank);
        out.bt = store(kernels::to_panels(type, b.data(), rows, out.rank));
      }
      group.a = store(kernels::to_panels(type, a.data(), group.rank, group.cols));
    }
  }
}

}  // namespace josi::infer
