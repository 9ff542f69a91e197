#include "kernel_call.h"

#include <string>
#include <utility>
#include <vector>

#include "library.h"
#include "tensor_args.h"

namespace lathe {
namespace {

// Must run on the thread that ran the kernel: libraries may keep the message per thread.
std::string FailureMessage(const KernelState& k, int32_t status) {
  std::string msg = "kernel '" + k.name + "' in " + k.lib->path + " failed with status " + std::to_string(status);
  if (k.lib->last_error == nullptr) return msg + " (the library does not export lathe_last_error)";
  const char* text = k.lib->last_error();
  return msg + ": " + (text != nullptr && *text != '\0' ? text : "(no message)");
}

Napi::Error KernelError(Napi::Env env, const std::string& message, int32_t status) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("status", Napi::Number::New(env, status));
  return e;
}

class KernelWorker : public Napi::AsyncWorker {
 public:
  KernelWorker(Napi::Env env, std::shared_ptr<KernelState> kernel, TensorArgs args)
      : Napi::AsyncWorker(env, "lathe:kernel"),
        kernel_(std::move(kernel)),
        args_(std::move(args)),
        deferred_(Napi::Promise::Deferred::New(env)) {
    // Keep the typed arrays (and so their memory) alive until the kernel is done.
    for (const Napi::Value& a : args_.arrays) keep_.push_back(Napi::Persistent(a.As<Napi::Object>()));
    args_.arrays.clear();  // plain handles die with this scope; the references above do not
    kernel_->lib->inflight++;
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    kernel_->lib->ApplyNumThreads();
    status_ = kernel_->fn(args_.tensors.data(), static_cast<int32_t>(args_.tensors.size()));
    if (status_ != 0) SetError(FailureMessage(*kernel_, status_));
  }

  void OnOK() override {
    Settle();
    deferred_.Resolve(Env().Undefined());
  }

  void OnError(const Napi::Error& e) override {
    Settle();
    deferred_.Reject(KernelError(Env(), e.Message(), status_).Value());
  }

 private:
  void Settle() {
    kernel_->lib->inflight--;
    kernel_->lib->DlcloseIfIdle();
    keep_.clear();
  }

  std::shared_ptr<KernelState> kernel_;
  TensorArgs args_;
  std::vector<Napi::ObjectReference> keep_;
  Napi::Promise::Deferred deferred_;
  int32_t status_ = 0;
};

}  // namespace

Napi::Value CallKernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto kernel = UnwrapKernel(info[0], "callKernel: kernel");
  TensorArgs args = ReadTensorArgs(info[1]);
  CheckOpen(env, *kernel->lib);
  kernel->lib->ApplyNumThreads();
  int32_t status = kernel->fn(args.tensors.data(), static_cast<int32_t>(args.tensors.size()));
  if (status != 0) throw KernelError(env, FailureMessage(*kernel, status), status);
  return env.Undefined();
}

Napi::Value CallKernelAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto kernel = UnwrapKernel(info[0], "callKernelAsync: kernel");
  TensorArgs args = ReadTensorArgs(info[1]);
  CheckOpen(env, *kernel->lib);
  auto* worker = new KernelWorker(env, std::move(kernel), std::move(args));  // deletes itself when done
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace lathe
