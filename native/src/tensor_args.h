// Turns the JS argument list of a kernel call into LatheTensor descriptors that
// point straight at the typed arrays' memory (no copies).
#ifndef LATHE_NATIVE_TENSOR_ARGS_H_
#define LATHE_NATIVE_TENSOR_ARGS_H_

#include <napi.h>

#include <cstdint>
#include <vector>

#include "lathe_rt.h"

namespace lathe {

struct TensorArgs {
  std::vector<LatheTensor> tensors;
  std::vector<int64_t> dims;  // every tensor's shape, back to back; tensors point into it
  std::vector<Napi::Value> arrays;  // the typed arrays, for callers that must keep them alive
};

// Validates every argument (types, shape entries, dtype fields, and that the typed
// array holds enough aligned bytes for the shape) and throws a JS TypeError or
// RangeError naming the argument on the first problem.
TensorArgs ReadTensorArgs(const Napi::Value& args);

}  // namespace lathe

#endif  // LATHE_NATIVE_TENSOR_ARGS_H_
