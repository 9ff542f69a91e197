// oneDNN's direct f32 convolution behind Lathe's kernel ABI. onednn_conv_prepare creates the
// primitive for one layer with every layout left to oneDNN (format_tag::any: it picks its
// blocked layout for this CPU), reorders the NCHW input and OIHW weights into those layouts
// once, runs it once and reorders the result back to NCHW for checking. onednn_conv_run then
// only executes the primitive: the time of a layer inside a network whose tensors already
// flow in oneDNN's layout, without primitive creation or reorders.
#include <dnnl.hpp>
#include <omp.h>
#include <cstdio>
#include <memory>
#include <exception>
#include "lathe_rt.h"

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

static char error_text[512];
extern "C" const char* lathe_last_error(void) { return error_text; }
extern "C" void lathe_set_num_threads(int32_t n) { omp_set_num_threads(n); }

namespace {
struct Layer {
  engine eng{engine::kind::cpu, 0};
  stream strm{eng};
  convolution_forward conv;
  memory src, wei, dst;
};
std::unique_ptr<Layer> layer;

memory::dims dims4(const LatheTensor& t) { return {t.shape[0], t.shape[1], t.shape[2], t.shape[3]}; }
}  // namespace

// args: x [N,C,H,W], w [O,C,KH,KW], y [N,O,OH,OW] (f32, NCHW), p [2] int32 {stride, pad},
// impl [n] u8: receives the name of the implementation oneDNN chose, NUL-terminated.
extern "C" int32_t onednn_conv_prepare(const LatheTensor* args, int32_t num_args) {
  if (num_args != 5 || args[0].ndim != 4 || args[1].ndim != 4 || args[2].ndim != 4 || args[3].ndim != 1 || args[4].ndim != 1) {
    snprintf(error_text, sizeof error_text, "onednn_conv_prepare: expected x, w, y (4-d), params and impl (1-d)");
    return 1;
  }
  try {
    auto L = std::make_unique<Layer>();
    const int32_t* p = (const int32_t*)args[3].data;
    const memory::dim s = p[0], pad = p[1];
    const memory::dims xd = dims4(args[0]), wd = dims4(args[1]), yd = dims4(args[2]);
    memory::desc src_any(xd, dt::f32, tag::any), wei_any(wd, dt::f32, tag::any), dst_any(yd, dt::f32, tag::any);
    convolution_forward::desc d(prop_kind::forward_inference, algorithm::convolution_direct, src_any, wei_any, dst_any,
                                {s, s}, {pad, pad}, {pad, pad});
    convolution_forward::primitive_desc pd(d, L->eng);
    L->conv = convolution_forward(pd);
    memory x_user({xd, dt::f32, tag::nchw}, L->eng, args[0].data);
    memory w_user({wd, dt::f32, tag::oihw}, L->eng, args[1].data);
    memory y_user({yd, dt::f32, tag::nchw}, L->eng, args[2].data);
    L->src = memory(pd.src_desc(), L->eng);
    L->wei = memory(pd.weights_desc(), L->eng);
    L->dst = memory(pd.dst_desc(), L->eng);
    reorder(x_user, L->src).execute(L->strm, x_user, L->src);
    reorder(w_user, L->wei).execute(L->strm, w_user, L->wei);
    L->conv.execute(L->strm, {{DNNL_ARG_SRC, L->src}, {DNNL_ARG_WEIGHTS, L->wei}, {DNNL_ARG_DST, L->dst}});
    reorder(L->dst, y_user).execute(L->strm, L->dst, y_user);
    L->strm.wait();
    snprintf((char*)args[4].data, (size_t)args[4].shape[0], "%s", pd.impl_info_str());
    layer = std::move(L);
  } catch (const std::exception& e) {
    snprintf(error_text, sizeof error_text, "onednn_conv_prepare: %s", e.what());
    return 1;
  }
  return 0;
}

// Runs the prepared layer's primitive once (no arguments).
extern "C" int32_t onednn_conv_run(const LatheTensor*, int32_t) {
  if (!layer) {
    snprintf(error_text, sizeof error_text, "onednn_conv_run: no layer prepared");
    return 1;
  }
  layer->conv.execute(layer->strm, {{DNNL_ARG_SRC, layer->src}, {DNNL_ARG_WEIGHTS, layer->wei}, {DNNL_ARG_DST, layer->dst}});
  layer->strm.wait();
  return 0;
}
