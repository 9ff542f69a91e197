// DMatrix: XGBoost's training/prediction data, copied from JS typed arrays.
#include <limits>
#include <utility>

#include "xgboost_binding.h"

namespace lathe::xgb {

constexpr int64_t kMaxDim = std::numeric_limits<int32_t>::max();

// dmatrixCreate(features: Float32Array, rows, cols, missing: number): handle.
// features is row-major rows × cols; entries equal to `missing` (NaN: NaN) are absent.
Napi::Value DMatrixCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::TypedArrayOf<float> features = Float32Arg(info, 0, "dmatrixCreate: features");
  int64_t rows = IntArg(info, 1, "dmatrixCreate: rows", 1, kMaxDim);
  int64_t cols = IntArg(info, 2, "dmatrixCreate: cols", 1, kMaxDim);
  if (info.Length() < 4 || !info[3].IsNumber()) throw Napi::TypeError::New(env, "dmatrixCreate: missing must be a number");
  float missing = info[3].As<Napi::Number>().FloatValue();
  if (static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols) != features.ElementLength()) {
    throw Napi::RangeError::New(env, "dmatrixCreate: " + std::to_string(rows) + " rows × " + std::to_string(cols) +
                                         " cols needs " + std::to_string(rows * cols) + " features, got " +
                                         std::to_string(features.ElementLength()));
  }
  auto d = std::make_shared<DMatrixState>();
  Check(env, XGDMatrixCreateFromMat(features.Data(), rows, cols, missing, &d->handle), "XGDMatrixCreateFromMat");
  bst_ulong n = 0;
  Check(env, XGDMatrixNumRow(d->handle, &n), "XGDMatrixNumRow");
  d->rows = n;
  Check(env, XGDMatrixNumCol(d->handle, &n), "XGDMatrixNumCol");
  d->cols = n;
  return WrapDMatrix(env, std::move(d));
}

// dmatrixSetFloatInfo(d, field: "label" | "weight" | "base_margin" | …, values: Float32Array).
Napi::Value DMatrixSetFloatInfo(const Napi::CallbackInfo& info) {
  auto d = DMatrixArg(info, 0, "dmatrixSetFloatInfo: d");
  std::string field = StringArg(info, 1, "dmatrixSetFloatInfo: field");
  Napi::TypedArrayOf<float> values = Float32Arg(info, 2, "dmatrixSetFloatInfo: values");
  float none = 0;  // an empty array may have no data pointer
  const float* data = values.ElementLength() > 0 ? values.Data() : &none;
  Check(info.Env(), XGDMatrixSetFloatInfo(d->handle, field.c_str(), data, values.ElementLength()), "XGDMatrixSetFloatInfo");
  return info.Env().Undefined();
}

// dmatrixSetUIntInfo(d, field: "group" (group sizes) | …, values: Uint32Array).
Napi::Value DMatrixSetUIntInfo(const Napi::CallbackInfo& info) {
  auto d = DMatrixArg(info, 0, "dmatrixSetUIntInfo: d");
  std::string field = StringArg(info, 1, "dmatrixSetUIntInfo: field");
  Napi::TypedArrayOf<uint32_t> values = Uint32Arg(info, 2, "dmatrixSetUIntInfo: values");
  unsigned none = 0;
  const unsigned* data = values.ElementLength() > 0 ? values.Data() : &none;
  Check(info.Env(), XGDMatrixSetUIntInfo(d->handle, field.c_str(), data, values.ElementLength()), "XGDMatrixSetUIntInfo");
  return info.Env().Undefined();
}

// dmatrixShape(d): [rows, cols]. Works while a train() reads the matrix: the shape never changes.
Napi::Value DMatrixShape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto d = DMatrixArg(info, 0, "dmatrixShape: d", /*live=*/false);
  if (d->disposed) throw Napi::Error::New(env, "dmatrixShape: d: the DMatrix has been disposed");
  Napi::Array shape = Napi::Array::New(env, 2);
  shape.Set(0u, Napi::Number::New(env, static_cast<double>(d->rows)));
  shape.Set(1u, Napi::Number::New(env, static_cast<double>(d->cols)));
  return shape;
}

// dmatrixFree(d): later calls with d throw; freed now, or when the train() reading it ends.
Napi::Value DMatrixFree(const Napi::CallbackInfo& info) {
  auto d = DMatrixArg(info, 0, "dmatrixFree: d", /*live=*/false);
  d->disposed = true;
  d->FreeIfIdle();
  return info.Env().Undefined();
}

}  // namespace lathe::xgb
