// The oneDNN GEMM baseline behind Lathe's kernel ABI, so both sides are called the same way.
// Debian's oneDNN runs on OpenMP (libgomp): its thread count is OpenMP's.
#include <dnnl.h>
#include <omp.h>
#include <cstdio>
#include "lathe_rt.h"

static char error_text[256];
extern "C" const char* lathe_last_error(void) { return error_text; }
extern "C" void lathe_set_num_threads(int32_t n) { omp_set_num_threads(n); }

// C[M,N] = A[M,K] · B[K,N], row-major f32 (dnnl_sgemm is row-major).
extern "C" int32_t onednn_sgemm(const LatheTensor* args, int32_t num_args) {
  if (num_args != 3 || args[0].ndim != 2 || args[1].ndim != 2 || args[2].ndim != 2) {
    snprintf(error_text, sizeof error_text, "onednn_sgemm: expected three 2-d tensors");
    return 1;
  }
  const dnnl_dim_t M = args[0].shape[0], K = args[0].shape[1], N = args[1].shape[1];
  const dnnl_status_t st = dnnl_sgemm('N', 'N', M, N, K, 1.0f, (const float*)args[0].data, K,
                                      (const float*)args[1].data, N, 0.0f, (float*)args[2].data, N);
  if (st != dnnl_success) {
    snprintf(error_text, sizeof error_text, "onednn_sgemm: dnnl_sgemm failed with status %d", (int)st);
    return 1;
  }
  return 0;
}
