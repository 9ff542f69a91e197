/*
 * Lathe's C ABI between generated kernel libraries and the runtime.
 * Tensors are passed as DLPack-style descriptors; the runtime owns the memory.
 */
#ifndef LATHE_RT_H_
#define LATHE_RT_H_
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Type codes follow DLPack's DLDataTypeCode. */
enum { LATHE_INT = 0, LATHE_UINT = 1, LATHE_FLOAT = 2, LATHE_BOOL = 6 };

typedef struct {
  uint8_t code;   /* LATHE_INT, LATHE_UINT, LATHE_FLOAT, LATHE_BOOL */
  uint8_t bits;   /* 8, 16, 32, 64 */
  uint16_t lanes; /* 1 for scalars */
} LatheDType;

typedef struct {
  void* data;              /* first element, already offset */
  int32_t ndim;
  LatheDType dtype;
  const int64_t* shape;    /* ndim entries */
  const int64_t* strides;  /* in elements; NULL means compact row-major */
} LatheTensor;

/*
 * Every kernel has this signature. It returns 0 on success; otherwise a non-zero code,
 * and lathe_last_error() in the same library describes what was wrong.
 */
typedef int32_t (*LatheKernelFn)(const LatheTensor* args, int32_t num_args);

/* Exported by every generated library. */
typedef const char* (*LatheLastErrorFn)(void);
typedef void (*LatheSetNumThreadsFn)(int32_t n);

#ifdef __cplusplus
}
#endif
#endif /* LATHE_RT_H_ */
