#include "tensor_args.h"

#include <cmath>
#include <string>

namespace lathe {
namespace {

constexpr uint32_t kMaxDims = 64;
constexpr double kMaxSafeInt = 9007199254740991.0;  // 2^53 - 1

std::string Where(uint32_t i) { return "kernel arg " + std::to_string(i); }

double IntegerField(const Napi::Object& obj, const char* key, const std::string& where) {
  Napi::Value v = obj.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(obj.Env(), where + ": " + key + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d)) {
    throw Napi::TypeError::New(obj.Env(), where + ": " + key + " must be an integer");
  }
  return d;
}

LatheDType ReadDType(const Napi::Value& v, const std::string& where) {
  Napi::Env env = v.Env();
  if (!v.IsObject()) throw Napi::TypeError::New(env, where + ": dtype must be {code, bits, lanes}");
  Napi::Object o = v.As<Napi::Object>();
  double code = IntegerField(o, "code", where + ".dtype");
  double bits = IntegerField(o, "bits", where + ".dtype");
  double lanes = IntegerField(o, "lanes", where + ".dtype");
  if (code != LATHE_INT && code != LATHE_UINT && code != LATHE_FLOAT && code != LATHE_BOOL) {
    throw Napi::RangeError::New(env, where + ".dtype: code must be 0 (int), 1 (uint), 2 (float) or 6 (bool)");
  }
  if (bits != 8 && bits != 16 && bits != 32 && bits != 64) {
    throw Napi::RangeError::New(env, where + ".dtype: bits must be 8, 16, 32 or 64");
  }
  if (lanes < 1 || lanes > 65535) throw Napi::RangeError::New(env, where + ".dtype: lanes must be in [1, 65535]");
  return LatheDType{static_cast<uint8_t>(code), static_cast<uint8_t>(bits), static_cast<uint16_t>(lanes)};
}

// Reads one shape entry list into `dims` and returns the element count, saturated
// at 2^53 so an absurd shape fails the byte-size check instead of overflowing.
double ReadShape(const Napi::Value& v, const std::string& where, std::vector<int64_t>& dims) {
  Napi::Env env = v.Env();
  if (!v.IsArray()) throw Napi::TypeError::New(env, where + ": shape must be an array of integers");
  Napi::Array shape = v.As<Napi::Array>();
  if (shape.Length() > kMaxDims) {
    throw Napi::RangeError::New(env, where + ": at most " + std::to_string(kMaxDims) + " dimensions");
  }
  double count = 1;
  for (uint32_t d = 0; d < shape.Length(); ++d) {
    Napi::Value e = shape.Get(d);
    if (!e.IsNumber()) throw Napi::TypeError::New(env, where + ": shape[" + std::to_string(d) + "] must be a number");
    double x = e.As<Napi::Number>().DoubleValue();
    if (!(x >= 0 && x <= kMaxSafeInt) || x != std::floor(x)) {
      throw Napi::RangeError::New(env, where + ": shape[" + std::to_string(d) + "] must be a non-negative integer");
    }
    dims.push_back(static_cast<int64_t>(x));
    count = std::fmin(count * x, kMaxSafeInt + 1);
  }
  return count;
}

}  // namespace

TensorArgs ReadTensorArgs(const Napi::Value& value) {
  Napi::Env env = value.Env();
  if (!value.IsArray()) throw Napi::TypeError::New(env, "kernel args must be an array");
  Napi::Array list = value.As<Napi::Array>();
  const uint32_t n = list.Length();
  TensorArgs out;
  out.tensors.resize(n);
  out.arrays.reserve(n);
  std::vector<size_t> offsets(n);
  for (uint32_t i = 0; i < n; ++i) {
    const std::string where = Where(i);
    Napi::Value item = list.Get(i);
    if (!item.IsObject()) throw Napi::TypeError::New(env, where + " must be {data, shape, dtype}");
    Napi::Object arg = item.As<Napi::Object>();

    Napi::Value data = arg.Get("data");
    if (!data.IsTypedArray()) throw Napi::TypeError::New(env, where + ": data must be a TypedArray");
    napi_typedarray_type type;
    size_t length = 0;
    void* ptr = nullptr;  // already offset by byteOffset
    napi_value buffer;
    size_t byte_offset = 0;
    if (napi_get_typedarray_info(env, data, &type, &length, &ptr, &buffer, &byte_offset) != napi_ok) {
      throw Napi::TypeError::New(env, where + ": cannot read the TypedArray");
    }
    const size_t byte_length = length * data.As<Napi::TypedArray>().ElementSize();

    LatheDType dtype = ReadDType(arg.Get("dtype"), where);
    offsets[i] = out.dims.size();
    double count = ReadShape(arg.Get("shape"), where, out.dims);
    const double elem_bytes = static_cast<double>(dtype.bits / 8) * dtype.lanes;
    const double need = count * elem_bytes;
    if (need > static_cast<double>(byte_length)) {
      throw Napi::RangeError::New(env, where + ": shape needs " + std::to_string(static_cast<uint64_t>(need)) +
                                           " bytes but data holds " + std::to_string(byte_length));
    }
    if (ptr != nullptr && reinterpret_cast<uintptr_t>(ptr) % (dtype.bits / 8) != 0) {
      throw Napi::RangeError::New(env, where + ": data is not aligned to its " + std::to_string(dtype.bits) +
                                           "-bit element type");
    }
    LatheTensor& t = out.tensors[i];
    t.data = ptr;
    t.ndim = static_cast<int32_t>(out.dims.size() - offsets[i]);
    t.dtype = dtype;
    t.strides = nullptr;  // compact row-major
    out.arrays.push_back(data);
  }
  // Point at the dims only now: push_back may have moved the vector's storage.
  for (uint32_t i = 0; i < n; ++i) out.tensors[i].shape = out.dims.data() + offsets[i];
  return out;
}

}  // namespace lathe
