#pragma once
// The weighted least-squares scale search all block quantizers share.
//
// Every search runs on one block normalised to y = x / s, s the power of two
// just above max|x| (values in (-1, 1), exact), so neither tiny nor huge
// magnitudes can overflow x² or underflow the sums; scales found for y are
// multiplied back by s. Inputs must be
// finite: prepare_block throws josi::Error on NaN or inf (one vector add per
// four weights) rather than writing garbage levels.
//
// The kernels use GCC/Clang vector extensions on 4 floats: -O2 does not
// vectorise float reductions (that would reorder adds), and these loops are
// the whole cost of quantizing a model. 4 lanes is native on SSE2 and NEON,
// so the generic vectors never cost a slow-path lowering.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace josi::quant::detail {

using v4 = float __attribute__((vector_size(16)));

inline v4 load4(const float* p) {
  v4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store4(float* p, v4 v) { std::memcpy(p, &v, sizeof v); }
inline v4 splat4(float f) { return v4{f, f, f, f}; }
inline float hsum4(v4 v) { return (v[0] + v[1]) + (v[2] + v[3]); }
inline v4 min4(v4 a, v4 b) { return a < b ? a : b; }
inline v4 max4(v4 a, v4 b) { return a > b ? a : b; }
// Round to nearest (ties to even) by adding and removing 1.5·2^23; exact for
// |v| < 2^22, which clamping to the level range guarantees first. (Relies on
// IEEE evaluation: -ffast-math could fold it away.)
inline v4 round4(v4 v) {
  const v4 magic = splat4(12582912.f);
  return (v + magic) - magic;
}
inline v4 clamp4(v4 v, v4 lo, v4 hi) { return min4(max4(v, lo), hi); }

// fp16 helpers for the stored scales. Saturates at ±65504 so a huge block
// clips instead of storing inf (inf·0 reads back as NaN).
uint16_t half_bits(float v);
float half_value(uint16_t h);

// Blocks whose max |x| is below this are stored as zeros: no fp16 scale can
// reach them (the smallest half is 6e-8) and 1/max|x| would overflow.
constexpr float kZeroBlock = 1e-30f;

// Fills y (= x / s) and w (the weight of each squared error) for the n
// weights (a multiple of 4) of one block or K-quant super-block. Returns the
// power of two s > max|x|, or 0 for a block to store as zeros. Throws
// josi::Error when a weight is NaN or infinite.
//
// Default weights: w = y² + 2·mean(y²) over the block. The y² term makes the
// large weights, which are rare and dominate a matmul's output, reconstruct
// more precisely (llama.cpp's importance: weights ≈ x² plus a small term); the floor
// keeps the many small weights from being sacrificed to them, which pure y²
// would do. With it a 3σ weight counts about 3.7× a typical one, close to the
// (σ + |x|)-style weighting llama.cpp's K-quants use, and plain relative RMS
// stays within ~1% of what uniform weights reach (uniform: Q4_K 7.05% vs
// 7.14% on Gaussian data; pure y² + mean: 7.20%).
// With an importance vector, w = max(importance, 0) / max(importance): the
// caller's activation statistics replace the heuristic; a block whose
// importance is all zero (or negative) falls back to uniform weights.
float prepare_block(const float* x, const float* importance, int n, float* y, float* w);

// ---------------------------------------------------------------------------
// Symmetric: y ≈ d·q with integer q in [qmin, qmax].

struct SymSearch {
  float top;      // levels the largest |y| maps to, first candidate (e.g. 8.5 for Q4_0)
  float bottom;   // ... last candidate
  int steps;      // candidates between them (inclusive)
  int refine;     // extra Lloyd passes: q = round(y/d), d = LSQ(q)
};

// q = clamp(round(iscale·y)) and the two sums of the best-d formula
// d = Σwyq / Σwq², whose error is Σwy² − (Σwyq)²/Σwq².
template <int N>
inline void sym_sums(const float* __restrict y, const float* __restrict w, float iscale, float qmin, float qmax,
                     float& swyq, float& swqq) {
  const v4 s = splat4(iscale), lo = splat4(qmin), hi = splat4(qmax);
  v4 a = splat4(0), b = splat4(0);
  for (int i = 0; i < N; i += 4) {
    const v4 yy = load4(y + i), ww = load4(w + i);
    const v4 qq = round4(clamp4(s * yy, lo, hi));
    const v4 wq = ww * qq;
    a += wq * yy;
    b += wq * qq;
  }
  swyq = hsum4(a);
  swqq = hsum4(b);
}

// Weighted error of y ≈ d·q with q = clamp(round(y/d)) written to q (all
// zeros when d is 0).
template <int N>
inline float sym_error(const float* y, const float* w, float d, float qmin, float qmax, float* q) {
  const v4 dd = splat4(d), lo = splat4(qmin), hi = splat4(qmax);
  const v4 s = splat4(d != 0 ? 1.f / d : 0.f);
  v4 e = splat4(0);
  for (int i = 0; i < N; i += 4) {
    const v4 yy = load4(y + i), ww = load4(w + i);
    const v4 qq = round4(clamp4(s * yy, lo, hi));
    store4(q + i, qq);
    const v4 r = yy - dd * qq;
    e += ww * r * r;
  }
  return hsum4(e);
}

// Searches d: candidate inverse scales map the signed largest |y| to
// -top .. -bottom levels (the negative side has one more level), each scored
// by its least-squares d, then the best is refined. Returns d (its sign is
// opposite to the largest |y|'s), 0 for all-zero y. Callers requantize for
// the fp16-rounded d, so the levels found here are not kept.
template <int N>
float fit_symmetric(const float* y, const float* w, int qmin, int qmax, const SymSearch& p) {
  v4 mx = load4(y), mn = mx;
  for (int i = 4; i < N; i += 4) {
    mx = max4(mx, load4(y + i));
    mn = min4(mn, load4(y + i));
  }
  const float hi = std::max(std::max(mx[0], mx[1]), std::max(mx[2], mx[3]));
  const float lo = std::min(std::min(mn[0], mn[1]), std::min(mn[2], mn[3]));
  const float amax = -lo > hi ? lo : hi;  // signed value of the largest |y|
  if (amax == 0) return 0;
  const float fqmin = static_cast<float>(qmin), fqmax = static_cast<float>(qmax);
  // Plain max scaling stays the answer if no candidate has weight (all w 0).
  float best_score = -1, d = -amax / p.top;
  const float step = p.steps > 1 ? (p.top - p.bottom) / static_cast<float>(p.steps - 1) : 0.f;
  for (int k = 0; k < p.steps; ++k) {
    float swyq, swqq;
    sym_sums<N>(y, w, -(p.top - step * static_cast<float>(k)) / amax, fqmin, fqmax, swyq, swqq);
    if (swqq > 0 && swyq * swyq / swqq > best_score) {
      best_score = swyq * swyq / swqq;
      d = swyq / swqq;
    }
  }
  for (int r = 0; r < p.refine && d != 0; ++r) {
    float swyq, swqq;
    sym_sums<N>(y, w, 1.f / d, fqmin, fqmax, swyq, swqq);
    if (!(swqq > 0) || swyq * swyq / swqq <= best_score * (1 + 1e-6f)) break;
    best_score = swyq * swyq / swqq;
    d = swyq / swqq;
  }
  return d;
}

// ---------------------------------------------------------------------------
// Affine: y ≈ scale·q + offset with integer q in [0, nmax].

struct Affine {
  float scale = 0;
  float offset = 0;
  float error = 0;  // weighted squared error in y units
};

struct AffineSearch {
  float low;    // first candidate maps the range to nmax + low levels
  float high;   // ... last to nmax + high
  int steps;    // candidates (inclusive)
  int refine;   // extra passes q = round((y − offset)/scale), refit
};

// Weighted error of y ≈ scale·q + offset with q = clamp(round((y − offset)/scale), 0, nmax)
// written to q (zeros when scale is 0).
template <int N>
inline float affine_error(const float* y, const float* w, float scale, float offset, float nmax, float* q) {
  const float is = scale > 0 ? 1.f / scale : 0.f;
  const v4 s = splat4(is), b = splat4(-offset * is), lo = splat4(0), hi = splat4(nmax);
  const v4 sc = splat4(scale), off = splat4(offset);
  v4 e = splat4(0);
  for (int i = 0; i < N; i += 4) {
    const v4 yy = load4(y + i), ww = load4(w + i);
    const v4 qq = round4(clamp4(s * yy + b, lo, hi));
    store4(q + i, qq);
    const v4 r = yy - (sc * qq + off);
    e += ww * r * r;
  }
  return hsum4(e);
}

// Sums for the least-squares fit of levels q = clamp(round(is·(y − shift)), 0, nmax).
template <int N>
inline void affine_sums(const float* __restrict y, const float* __restrict w, float is, float shift, float nmax,
                        float& swq, float& swqq, float& swyq) {
  const v4 s = splat4(is), b = splat4(-shift * is), lo = splat4(0), hi = splat4(nmax);
  v4 a_q = splat4(0), a_qq = a_q, a_yq = a_q;
  for (int i = 0; i < N; i += 4) {
    const v4 yy = load4(y + i), ww = load4(w + i);
    const v4 qq = round4(clamp4(s * yy + b, lo, hi));
    const v4 wq = ww * qq;
    a_q += wq;
    a_qq += wq * qq;
    a_yq += wq * yy;
  }
  swq = hsum4(a_q);
  swqq = hsum4(a_qq);
  swyq = hsum4(a_yq);
}

// Weighted least squares for y ≈ scale·q + offset from the sums; false when
// the levels cannot determine a positive scale.
inline bool solve_affine(float sw, float swy, float swyy, float swq, float swqq, float swyq, bool nonpositive_offset,
                         Affine& fit) {
  const float det = sw * swqq - swq * swq;
  if (!(det > 0)) return false;
  float sc = (sw * swyq - swy * swq) / det;
  float off = (swqq * swy - swq * swyq) / det;
  if (nonpositive_offset && off > 0) {
    off = 0;
    sc = swyq / swqq;
  }
  if (!(sc > 0)) return false;
  fit.scale = sc;
  fit.offset = off;
  fit.error = swyy - 2 * sc * swyq - 2 * off * swy + sc * sc * swqq + 2 * sc * off * swq + off * off * sw;
  return true;
}

// Searches scale and offset: each candidate inverse scale spreads [min, max]
// over nmax + low .. nmax + high levels, the levels are rounded, and scale
// and offset are solved in closed form (weighted least squares, 2×2), then
// the best is refined. With `nonpositive_offset` (K-quant mins are stored as
// −dmin·m, m ≥ 0) the range starts at min(y, 0) and a positive least-squares
// offset is clamped to 0. Callers requantize for their rounded scales.
template <int N>
Affine fit_affine(const float* y, const float* w, int nmax, bool nonpositive_offset, const AffineSearch& p) {
  v4 mx = load4(y), mn = mx, sw4 = splat4(0), swy4 = sw4, swyy4 = sw4;
  for (int i = 0; i < N; i += 4) {
    const v4 yy = load4(y + i), ww = load4(w + i);
    mx = max4(mx, yy);
    mn = min4(mn, yy);
    sw4 += ww;
    swy4 += ww * yy;
    swyy4 += ww * yy * yy;
  }
  const float sw = hsum4(sw4), swy = hsum4(swy4), swyy = hsum4(swyy4);
  const float ymax = std::max(std::max(mx[0], mx[1]), std::max(mx[2], mx[3]));
  float ymin = std::min(std::min(mn[0], mn[1]), std::min(mn[2], mn[3]));
  if (nonpositive_offset) ymin = std::min(ymin, 0.f);
  const float fnmax = static_cast<float>(nmax);
  const float range = ymax - ymin;

  Affine best;
  if (!(range > kZeroBlock)) {  // constant block: the offset alone
    best.offset = sw > 0 ? swy / sw : ymin;
    if (nonpositive_offset) best.offset = std::min(best.offset, 0.f);
    best.error = swyy - 2 * best.offset * swy + best.offset * best.offset * sw;
    return best;
  }
  // Plain min/max stays the answer when no candidate can be solved (weights
  // zero on all but one level).
  best.scale = range / fnmax;
  best.offset = ymin;
  // The error from sums can come out slightly negative (cancellation) when
  // a candidate fits exactly, so "found" is its own flag.
  bool found = false;
  const float step = p.steps > 1 ? (p.high - p.low) / static_cast<float>(p.steps - 1) : 0.f;
  for (int k = 0; k < p.steps; ++k) {
    float swq, swqq, swyq;
    affine_sums<N>(y, w, (fnmax + p.low + step * static_cast<float>(k)) / range, ymin, fnmax, swq, swqq, swyq);
    Affine fit;
    if (solve_affine(sw, swy, swyy, swq, swqq, swyq, nonpositive_offset, fit) && (!found || fit.error < best.error)) {
      best = fit;
      found = true;
    }
  }
  for (int r = 0; r < p.refine && found; ++r) {
    float swq, swqq, swyq;
    affine_sums<N>(y, w, 1.f / best.scale, best.offset, fnmax, swq, swqq, swyq);
    Affine fit;
    if (!solve_affine(sw, swy, swyy, swq, swqq, swyq, nonpositive_offset, fit) ||
        !(fit.error < best.error - 1e-6f * std::fabs(best.error)))
      break;
    best = fit;
  }
  return best;
}

// ---------------------------------------------------------------------------
// K-quant super-block with 6-bit scales and mins (Q4_K, Q5_K).

struct KAffineBlock {
  uint16_t d = 0, dmin = 0;  // fp16
  uint8_t sc[8] = {}, mn[8] = {};
  uint8_t q[256] = {};  // levels 0..nmax
};

// Fits 256 weights as x ≈ d·sc_j·q − dmin·mn_j over eight sub-blocks of 32.
void fit_k_affine(const float* x, const float* importance, int nmax, KAffineBlock& out);

// One block of 32 weights as x ≈ d·q, q in [qmin, qmax] (Q8_0, Q4_0, Q5_0):
// returns the fp16 d and writes the levels for it to q.
uint16_t fit_block_symmetric(const float* x, const float* importance, int qmin, int qmax, const SymSearch& p,
                             float* q);

}  // namespace josi::quant::detail
