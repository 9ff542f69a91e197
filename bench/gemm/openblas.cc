// The OpenBLAS baseline behind Lathe's kernel ABI, so both sides are called the same way.
#include <cblas.h>
#include <cstdio>
#include "lathe_rt.h"

static char error_text[256];
extern "C" const char* lathe_last_error(void) { return error_text; }
extern "C" void lathe_set_num_threads(int32_t n) { openblas_set_num_threads(n); }
extern "C" const char* openblas_config_text(void) { return openblas_get_config(); }

// C[M,N] = A[M,K] · B[K,N], row-major f32.
extern "C" int32_t openblas_sgemm(const LatheTensor* args, int32_t num_args) {
  if (num_args != 3 || args[0].ndim != 2 || args[1].ndim != 2 || args[2].ndim != 2) {
    snprintf(error_text, sizeof error_text, "openblas_sgemm: expected three 2-d tensors");
    return 1;
  }
  const int M = (int)args[0].shape[0], K = (int)args[0].shape[1], N = (int)args[1].shape[1];
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f,
              (const float*)args[0].data, K, (const float*)args[1].data, N, 0.0f, (float*)args[2].data, N);
  return 0;
}
