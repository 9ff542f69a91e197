// Registers the XGBoost binding (exports.xgboost) when the addon was built with
// libxgboost-dev; without it the addon has no `xgboost` export and
// compiler/autotune/xgboost.ts says what to install.
#ifndef LATHE_NATIVE_XGBOOST_H_
#define LATHE_NATIVE_XGBOOST_H_

#include <napi.h>

namespace lathe {

void RegisterXGBoost(Napi::Env env, Napi::Object exports);

}  // namespace lathe

#endif  // LATHE_NATIVE_XGBOOST_H_
