// Booster training on a libuv worker thread, one XGBoosterUpdateOneIter per round,
// so the event loop (servers, progress bars) keeps running. Each round's eval text
// goes back to JS through the progress queue, in order and before the promise settles.
#include <utility>

#include "xgboost_binding.h"

namespace lathe::xgb {
namespace {

struct RoundReport {
  int32_t iteration = 0;
  std::string text;  // XGBoosterEvalOneIter's line; empty without evals
};

class TrainWorker : public Napi::AsyncProgressQueueWorker<RoundReport> {
 public:
  TrainWorker(Napi::Env env, std::shared_ptr<BoosterState> booster, std::shared_ptr<DMatrixState> dtrain,
              std::vector<std::shared_ptr<DMatrixState>> evals, std::vector<std::string> names, int start,
              int rounds, Napi::Value on_round)
      : Napi::AsyncProgressQueueWorker<RoundReport>(env, "lathe:xgboost-train"),
        booster_(std::move(booster)),
        dtrain_(std::move(dtrain)),
        evals_(std::move(evals)),
        names_(std::move(names)),
        start_(start),
        rounds_(rounds),
        deferred_(Napi::Promise::Deferred::New(env)) {
    if (on_round.IsFunction()) on_round_ = Napi::Persistent(on_round.As<Napi::Function>());
    booster_->training = true;
    dtrain_->inflight++;
    for (const auto& d : evals_) d->inflight++;
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress& progress) override {
    std::vector<DMatrixHandle> eval_handles;
    for (const auto& d : evals_) eval_handles.push_back(d->handle);
    std::vector<const char*> eval_names;
    for (const auto& n : names_) eval_names.push_back(n.c_str());
    for (int i = 0; i < rounds_; ++i) {
      if (booster_->disposed) return SetError("Booster.train: the Booster was disposed during training");
      if (stop_) return;  // onRound threw; OnOK rejects with its error
      RoundReport report;
      report.iteration = start_ + i;
      if (XGBoosterUpdateOneIter(booster_->handle, report.iteration, dtrain_->handle) != 0) {
        return SetError("XGBoost XGBoosterUpdateOneIter failed in round " + std::to_string(report.iteration) + ": " +
                        LastError());
      }
      if (!eval_handles.empty()) {
        const char* text = nullptr;
        if (XGBoosterEvalOneIter(booster_->handle, report.iteration, eval_handles.data(), eval_names.data(),
                                 eval_handles.size(), &text) != 0) {
          return SetError("XGBoost XGBoosterEvalOneIter failed in round " + std::to_string(report.iteration) + ": " +
                          LastError());
        }
        report.text = text != nullptr ? text : "";
      }
      if (!on_round_.IsEmpty()) progress.Send(&report, 1);
    }
  }

  void OnProgress(const RoundReport* reports, size_t count) override {
    if (reports == nullptr || on_round_.IsEmpty()) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    for (size_t i = 0; i < count && !stop_; ++i) {
      try {
        on_round_.Call({Napi::Number::New(env, reports[i].iteration), Napi::String::New(env, reports[i].text)});
      } catch (const Napi::Error& e) {
        callback_error_ = Napi::Persistent(e.Value());
        stop_ = true;
      }
    }
  }

  void OnOK() override {
    Settle();
    if (!callback_error_.IsEmpty()) {
      deferred_.Reject(callback_error_.Value());
    } else {
      deferred_.Resolve(Env().Undefined());
    }
  }

  void OnError(const Napi::Error& e) override {
    Settle();
    deferred_.Reject(e.Value());
  }

 private:
  // Back on the JS thread: release the booster and matrices, freeing any disposed meanwhile.
  void Settle() {
    booster_->training = false;
    booster_->FreeIfIdle();
    for (const auto& d : evals_) {
      d->inflight--;
      d->FreeIfIdle();
    }
    dtrain_->inflight--;
    dtrain_->FreeIfIdle();
    on_round_.Reset();
  }

  std::shared_ptr<BoosterState> booster_;
  std::shared_ptr<DMatrixState> dtrain_;
  std::vector<std::shared_ptr<DMatrixState>> evals_;
  std::vector<std::string> names_;
  int start_;
  int rounds_;
  Napi::FunctionReference on_round_;
  Napi::ObjectReference callback_error_;
  std::atomic<bool> stop_{false};
  Napi::Promise::Deferred deferred_;
};

}  // namespace

// boosterTrain(b, dtrain, rounds, evals: DMatrix[], names: string[], onRound?: (iteration, evalText) => void):
// Promise<undefined>. Iterations continue from the rounds already boosted.
Napi::Value BoosterTrain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto b = BoosterArg(info, 0, "boosterTrain: b");
  auto dtrain = DMatrixArg(info, 1, "boosterTrain: dtrain");
  int rounds = static_cast<int>(IntArg(info, 2, "boosterTrain: rounds", 0, 1 << 24));
  auto evals = DMatrixListArg(info, 3, "boosterTrain: evals");
  auto names = StringListArg(info, 4, "boosterTrain: names");
  if (evals.size() != names.size()) throw Napi::RangeError::New(env, "boosterTrain: evals and names differ in length");
  Napi::Value on_round = info.Length() > 5 ? info[5] : env.Undefined();
  if (!on_round.IsUndefined() && !on_round.IsFunction()) {
    throw Napi::TypeError::New(env, "boosterTrain: onRound must be a function or undefined");
  }
  if (b->needs_num_feature) {
    Check(env, XGBoosterSetParam(b->handle, "num_feature", std::to_string(dtrain->cols).c_str()), "XGBoosterSetParam");
    b->needs_num_feature = false;
  }
  int start = 0;
  Check(env, XGBoosterBoostedRounds(b->handle, &start), "XGBoosterBoostedRounds");
  auto* worker = new TrainWorker(env, std::move(b), std::move(dtrain), std::move(evals), std::move(names), start,
                                 rounds, on_round);  // deletes itself when done
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace lathe::xgb
