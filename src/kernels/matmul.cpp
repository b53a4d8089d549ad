#include "kernels/matmul.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "base/error.hpp"
#include "kernels/cpu_features.hpp"
#include "kernels/isa_kernels.hpp"
#include "kernels/row_groups.hpp"
#include "kernels/vector_ops.hpp"

namespace josi::kernels {

const detail::MatmulKernels* detail::matmul_kernels(Isa isa) {
  switch (isa) {
    case Isa::avx512_vnni:
      return matmul_kernels_avx512();
    case Isa::avx2:
      return matmul_kernels_avx2();
    case Isa::neon_i8mm:
      return matmul_kernels_neon_i8mm();
    case Isa::neon_dotprod:
      return matmul_kernels_neon_dotprod();
    case Isa::neon:
      return matmul_kernels_neon();
    case Isa::scalar:
      break;
  }
  return matmul_kernels_scalar();
}

namespace {

using detail::ActFormat;
using detail::GemmFn;
using detail::MatmulKernels;
using formats::GgmlType;

struct TypeKernel {
  ActFormat act;
  GemmFn gemm;
};

// Null gemm: a type matmul cannot multiply.
TypeKernel kernel_for(const MatmulKernels& k, GgmlType type) {
  switch (type) {
    case GgmlType::F32:
      return {ActFormat::f32, k.f32};
    case GgmlType::F16:
      return {ActFormat::f32, k.f16};
    case GgmlType::BF16:
      return {ActFormat::f32, k.bf16};
    case GgmlType::Q8_0:
      return {ActFormat::q8_32, k.q8_0};
    case GgmlType::Q4_0:
      return {ActFormat::q8_32, k.q4_0};
    case GgmlType::Q5_0:
      return {ActFormat::q8_32, k.q5_0};
    case GgmlType::Q5_1:
      return {ActFormat::q8_32, k.q5_1};
    case GgmlType::Q4_K:
      return {ActFormat::q8_256, k.q4_k};
    case GgmlType::Q5_K:
      return {ActFormat::q8_256, k.q5_k};
    case GgmlType::Q6_K:
      return {ActFormat::q8_256, k.q6_k};
    default:
      return {ActFormat::f32, nullptr};
  }
}

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

// isa_kernels.hpp's layouts: q[k], then the block scales, then the sums.
detail::ActLayout layout_for(ActFormat format, int64_t k) {
  const auto n = static_cast<size_t>(k);
  detail::ActLayout l;
  l.d = n;
  if (format == ActFormat::q8_32) {
    l.sums = l.d + n / 32 * sizeof(float);
    l.q_sums = l.sums + n / 32 * sizeof(float);
    l.stride = round_up(l.q_sums + n / 32 * sizeof(int16_t), 64);
  } else {
    l.sums = l.d + n / 256 * sizeof(float);
    l.stride = round_up(l.sums + n / 16 * sizeof(int16_t), 64);
  }
  return l;
}

// Rows per parallel task: whole tiles of the fast kernels (a 16-row group
// among them), enough tasks for the pool to balance, few enough that each
// task amortises its start. A product with RowsDone hands out whole blocks
// of those instead.
constexpr int64_t kRowBlock = 16;
static_assert(kRowBlock % detail::kGroupRows == 0 && kRowBlock % kLowRankPanel == 0 && kRowsDoneBlock % kRowBlock == 0);

}  // namespace

bool can_matmul(GgmlType type) { return kernel_for(*detail::matmul_kernels_scalar(), type).gemm != nullptr; }

namespace {

void require_row_groups(GgmlType type, int64_t rows, int64_t k) {
  if (!detail::fits_row_groups(type, rows, k))
    throw Error("matmul: a " + std::to_string(rows) + " x " + std::to_string(k) + " " +
                std::string(formats::ggml_type_info(type).name) + " matrix cannot be in 16-row groups");
}

}  // namespace

WeightLayout best_layout(GgmlType type, int64_t rows, int64_t k) {
  const bool grouped = active_isa() == Isa::avx512_vnni && detail::fits_row_groups(type, rows, k);
  return grouped ? WeightLayout::row_groups : WeightLayout::rows;
}

uint64_t layout_bytes(WeightLayout layout, GgmlType type, int64_t rows, int64_t k) {
  if (layout == WeightLayout::row_groups) return detail::row_groups_bytes(type, rows, k);
  return *formats::ggml_row_bytes(type, static_cast<uint64_t>(k)) * static_cast<uint64_t>(rows);
}

void arrange_weights(WeightLayout layout, GgmlType type, const void* w, int64_t rows, int64_t k, uint8_t* out) {
  if (layout == WeightLayout::rows) {
    std::memcpy(out, w, layout_bytes(layout, type, rows, k));
    return;
  }
  require_row_groups(type, rows, k);
  detail::pack_row_groups(type, static_cast<const uint8_t*>(w), rows, k, out);
}

void matmul(base::ThreadPool& pool, GgmlType type, const void* w, int64_t rows, int64_t k, const float* x,
            int64_t n_tokens, float* y, int64_t ldy, MatmulScratch& scratch, WeightLayout layout,
            const LowRankTerm* term, const RowsDone* rows_done) {
  const auto info = formats::ggml_type_info(type);
  const MatmulKernels& kernels = *detail::matmul_kernels(active_isa());
  TypeKernel kernel = kernel_for(kernels, type);
  if (term) {
    if (term->type != GgmlType::F32 && term->type != GgmlType::F16)
      throw Error("matmul: a low-rank term must be F32 or F16, not " + std::string(formats::ggml_type_info(term->type).name));
    if (term->rank <= 0 || term->ldu < term->rank) throw Error("matmul: a low-rank term needs 0 < rank <= ldu");
  }
  if (!kernel.gemm) throw Error("matmul: cannot multiply weights of type " + std::string(info.name));
  if (k <= 0 || k % static_cast<int64_t>(info.block_size) != 0)
    throw Error("matmul: row length " + std::to_string(k) + " is not a positive multiple of " + std::string(info.name) +
                "'s block size " + std::to_string(info.block_size));
  if (layout == WeightLayout::row_groups) {
    require_row_groups(type, rows, k);
    const auto grouped = [type](const MatmulKernels& k) {
      return type == GgmlType::Q4_K ? k.q4_k_groups : type == GgmlType::Q6_K ? k.q6_k_groups : k.q8_0_groups;
    };
    kernel.gemm = grouped(kernels) ? grouped(kernels) : grouped(*detail::matmul_kernels_scalar());
  }
  if (rows <= 0 || n_tokens <= 0) return;

  detail::GemmArgs args;
  args.w = static_cast<const uint8_t*>(w);
  args.row_bytes = *formats::ggml_row_bytes(type, static_cast<uint64_t>(k));
  args.k = k;
  args.n_tokens = n_tokens;
  args.y = y;
  args.ldy = ldy;
  if (layout == WeightLayout::row_groups) args.term = term;
  if (kernel.act == ActFormat::f32) {
    args.x = reinterpret_cast<const uint8_t*>(x);
    args.x_stride = static_cast<size_t>(k) * sizeof(float);
  } else {
    args.act = layout_for(kernel.act, k);
    args.x_stride = args.act.stride;
    scratch.activations.resize(args.x_stride * static_cast<size_t>(n_tokens));
    uint8_t* out = scratch.activations.data();
    const detail::QuantizeFn quantize =
        kernel.act == ActFormat::q8_32 ? kernels.quantize_q8_32 : kernels.quantize_q8_256;
    const detail::ActLayout layout = args.act;
    pool.parallel_for(static_cast<size_t>(n_tokens), 1, [&](size_t begin, size_t end) {
      for (size_t t = begin; t < end; ++t) quantize(x + t * static_cast<size_t>(k), k, out + t * layout.stride, layout);
    });
    args.x = out;
  }
  const int64_t block = rows_done ? kRowsDoneBlock : kRowBlock, blocks = (rows + block - 1) / block;
  pool.parallel_for(static_cast<size_t>(blocks), 1, [&](size_t begin, size_t end) {
    const int64_t r1 = static_cast<int64_t>(end) * block;
    const int64_t r0 = static_cast<int64_t>(begin) * block, r_end = r1 < rows ? r1 : rows;
    kernel.gemm(args, r0, r_end);
    if (term && !args.term) add_low_rank(*term, r0, r_end, n_tokens, y, ldy);
    if (rows_done)
      for (int64_t r = r0; r < r_end; r += block) (*rows_done)(r, std::min(r + block, r_end));
  });
}

}  // namespace josi::kernels
