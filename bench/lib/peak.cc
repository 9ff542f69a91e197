// The host's measured limits, which every benchmark's host record carries: the fp32 FMA
// peak of one core (independent FMA chains on the widest vectors -march=native gives) and
// the STREAM triad bandwidth (a = b + s·c over arrays far larger than the caches).
#include <cstdint>
#include <cstdio>
#include <omp.h>
#include "lathe_rt.h"

#if defined(__AVX512F__)
#define PEAK_BYTES 64
#elif defined(__AVX__)
#define PEAK_BYTES 32
#else
#define PEAK_BYTES 16
#endif

typedef float vf __attribute__((vector_size(PEAK_BYTES)));
enum { LANES = PEAK_BYTES / 4, CHAINS = 12 };  // 12 chains cover 2 FMA pipes × 4–6 cycles of latency

static char error_text[256];
extern "C" const char* lathe_last_error(void) { return error_text; }

// args: [0] f64[1], the iteration count; [1] f32[18] out: the sums in
// [0, LANES), then LANES and CHAINS at 16 and 17, so the caller can count the FLOPs.
extern "C" int32_t lathe_peak_fma(const LatheTensor* args, int32_t num_args) {
  if (num_args != 2 || args[1].shape[0] < 18) {
    snprintf(error_text, sizeof error_text, "lathe_peak_fma: expected (f32[n], f32[18])");
    return 1;
  }
  const int64_t n = (int64_t)((const double*)args[0].data)[0];
  float* out = (float*)args[1].data;
  vf acc[CHAINS];
  for (int c = 0; c < CHAINS; ++c) acc[c] = vf{} + (float)c * 1e-3f;
  const vf m = vf{} + 0.999999f, a = vf{} + 1e-7f;
  for (int64_t i = 0; i < n; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < CHAINS; ++c) acc[c] = acc[c] * m + a;
  }
  vf s = acc[0];
  for (int c = 1; c < CHAINS; ++c) s += acc[c];
  for (int l = 0; l < LANES; ++l) out[l] = s[l];
  out[16] = LANES;
  out[17] = CHAINS;
  return 0;
}

// args: [0] a, [1] b, [2] c, all f32[n]: a = b + 3·c, on every OpenMP thread.
extern "C" int32_t lathe_peak_triad(const LatheTensor* args, int32_t num_args) {
  if (num_args != 3) {
    snprintf(error_text, sizeof error_text, "lathe_peak_triad: expected three f32[n]");
    return 1;
  }
  const int64_t n = args[0].shape[0];
  float* __restrict a = (float*)args[0].data;
  const float* __restrict b = (const float*)args[1].data;
  const float* __restrict c = (const float*)args[2].data;
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) a[i] = b[i] + 3.0f * c[i];
  return 0;
}

extern "C" void lathe_set_num_threads(int32_t n) { omp_set_num_threads(n); }
