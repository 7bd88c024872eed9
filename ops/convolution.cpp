#include <tapegrad/ops/convolution.hpp>

#include <algorithm>
#include <cstddef>
#include <string>

#include <fmt/format.h>

#include <tapegrad/autograd/buffer_pool.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/ops/blas.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/reduce.hpp>

namespace tapegrad {

namespace {

using std::ptrdiff_t;
using std::size_t;

/// One convolution in 2-D terms, whichever op was called: the input side x [n, c, h, w], the weight
/// [o, c/groups, kh, kw] and the output side y [n, o, ho, wo]. conv2d maps x to y, conv_transpose2d
/// y to x, conv2d_weight (x, y) to the weight. The tensors may hold these elements under another
/// shape (conv1d's [n, c, w], an unbatched [c, h, w]): the kernels read only the counts. The output
/// sizes are explicit, so an asymmetric ('same') padding only needs its top/left part here.
struct Geometry {
    size_t n, c, h, w;
    size_t o, kh, kw;
    size_t ho, wo;
    size_t sh, sw, dh, dw, groups;
    ptrdiff_t ph, pw;    // zeros before the first row / column
    size_t channel_dim;  // where the channels are in either side's tensors: 0 unbatched, else 1

    size_t cg() const { return c / groups; }
    size_t og() const { return o / groups; }
    size_t k() const { return cg() * kh * kw; }  // rows of a group's im2col columns
    size_t plane() const { return h * w; }
    size_t out_plane() const { return ho * wo; }
    /// A 1x1 kernel at stride 1 without padding over the whole input: the columns are x itself.
    bool direct() const { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 && ho == h && wo == w; }
};

/// The range [first, last) of output positions j whose input position j s + offset lies in [0, size).
std::pair<size_t, size_t> inside(ptrdiff_t offset, size_t stride, size_t size, size_t count) {
    const auto s = static_cast<ptrdiff_t>(stride);
    const ptrdiff_t first = offset >= 0 ? 0 : (-offset + s - 1) / s;
    const ptrdiff_t room = static_cast<ptrdiff_t>(size) - offset;  // positions j s < room are inside
    const ptrdiff_t last = room <= 0 ? 0 : (room + s - 1) / s;
    const auto clamp = [count](ptrdiff_t v) {
        return static_cast<size_t>(std::clamp<ptrdiff_t>(v, 0, ptrdiff_t(count)));
    };
    return {clamp(first), std::max(clamp(first), clamp(last))};
}

/// Walks the im2col columns of one group of one sample: for row r = (c kh + p) kw + q and output
/// row i, calls f(column segment, input row or nullptr when it is padding, first, last, offset):
/// the segment's entries j in [first, last) read input element offset + j sw, the others are 0.
template <class C, class X, class F>
void walk_columns(const Geometry& g, X* x, C* cols, F f) {
    for (size_t c = 0; c < g.cg(); ++c) {
        for (size_t p = 0; p < g.kh; ++p) {
            for (size_t q = 0; q < g.kw; ++q) {
                C* row = cols + ((c * g.kh + p) * g.kw + q) * g.out_plane();
                const ptrdiff_t offset = ptrdiff_t(q * g.dw) - g.pw;
                const auto [first, last] = inside(offset, g.sw, g.w, g.wo);
                for (size_t i = 0; i < g.ho; ++i) {
                    const ptrdiff_t hin = ptrdiff_t(i * g.sh + p * g.dh) - g.ph;
                    const bool pad = hin < 0 || hin >= ptrdiff_t(g.h);
                    f(row + i * g.wo, pad ? nullptr : x + c * g.plane() + size_t(hin) * g.w, first, last, offset);
                }
            }
        }
    }
}

/// cols [k, ho wo] = the input patches of one group of one sample (x: its first channel).
template <class T>
void im2col(const Geometry& g, const T* x, T* cols) {
    walk_columns(g, x, cols, [&g](T* out, const T* in, size_t first, size_t last, ptrdiff_t offset) {
        if (!in) {
            std::fill(out, out + g.wo, T(0));
            return;
        }
        std::fill(out, out + first, T(0));
        for (size_t j = first; j < last; ++j) out[j] = in[offset + ptrdiff_t(j * g.sw)];
        std::fill(out + last, out + g.wo, T(0));
    });
}

/// The adjoint of im2col: adds each column entry back onto the input element it was read from.
template <class T>
void col2im(const Geometry& g, const T* cols, T* x) {
    walk_columns(g, x, cols, [&g](const T* col, T* in, size_t first, size_t last, ptrdiff_t offset) {
        if (!in) return;
        for (size_t j = first; j < last; ++j) in[offset + ptrdiff_t(j * g.sw)] += col[j];
    });
}

/// Each channel's plane of out [n, channels, plane] set to the bias, or 0 without one.
template <class T>
void fill_bias(T* out, const Tensor<T>& bias, size_t n, size_t channels, size_t plane) {
    for (size_t s = 0; s < n; ++s) {
        for (size_t ch = 0; ch < channels; ++ch) {
            T* at = out + (s * channels + ch) * plane;
            std::fill(at, at + plane, bias.defined() ? bias.value().data()[ch] : T(0));
        }
    }
}

/// The columns of a group of a sample: x itself for a direct convolution, else im2col into cols.
template <class T>
const T* columns(const Geometry& g, const T* x, T* cols) {
    if (g.direct()) return x;
    im2col(g, x, cols);
    return cols;
}

template <class T>
xt::xarray<T> conv_value(const Geometry& g, const T* x, const T* w, const Tensor<T>& bias, const Shape& shape) {
    xt::xarray<T> y = detail::take_buffer<T>("conv2d", shape);
    const size_t k = g.k(), og = g.og(), plane = g.out_plane();
    const bool accumulate = bias.defined() || g.n * plane == 0;
    if (accumulate) fill_bias(y.data(), bias, g.n, g.o, plane);
    if (g.n * plane == 0) return y;
    detail::Scratch<T> cols(detail::take_buffer<T>("conv2d", g.direct() ? Shape{0} : Shape{k, plane}));
    for (size_t s = 0; s < g.n; ++s) {
        for (size_t gi = 0; gi < g.groups; ++gi) {
            const T* xs = columns(g, x + (s * g.c + gi * g.cg()) * g.plane(), (*cols).data());
            detail::blas_gemm(false, false, detail::GemmDims{og, plane, k, k, plane}, w + gi * og * k, xs,
                              y.data() + (s * g.o + gi * og) * plane, accumulate ? T(1) : T(0));
        }
    }
    return y;
}

template <class T>
xt::xarray<T> transpose_value(const Geometry& g, const T* y, const T* w, const Tensor<T>& bias, const Shape& shape) {
    xt::xarray<T> x = detail::take_buffer<T>("conv_transpose2d", shape);
    const size_t k = g.k(), og = g.og(), plane = g.out_plane();
    // col2im adds into x, and so does a direct product when there is a bias.
    const bool accumulate = bias.defined() || !g.direct() || g.n * plane == 0;
    if (accumulate) fill_bias(x.data(), bias, g.n, g.c, g.plane());
    if (g.n * plane == 0) return x;
    detail::Scratch<T> cols(detail::take_buffer<T>("conv_transpose2d", g.direct() ? Shape{0} : Shape{k, plane}));
    for (size_t s = 0; s < g.n; ++s) {
        for (size_t gi = 0; gi < g.groups; ++gi) {
            T* xs = x.data() + (s * g.c + gi * g.cg()) * g.plane();
            T* out = g.direct() ? xs : (*cols).data();
            detail::blas_gemm(true, false, detail::GemmDims{k, plane, og, k, plane}, w + gi * og * k,
                              y + (s * g.o + gi * og) * plane, out, g.direct() && accumulate ? T(1) : T(0));
            if (!g.direct()) col2im(g, out, xs);
        }
    }
    return x;
}

template <class T>
xt::xarray<T> weight_value(const Geometry& g, const T* x, const T* y, const Shape& shape) {
    xt::xarray<T> dw = detail::take_buffer<T>("conv2d_weight", shape);
    const size_t k = g.k(), og = g.og(), plane = g.out_plane();
    if (g.n * plane == 0) {
        dw.fill(T(0));
        return dw;
    }
    detail::Scratch<T> cols(detail::take_buffer<T>("conv2d_weight", g.direct() ? Shape{0} : Shape{k, plane}));
    for (size_t s = 0; s < g.n; ++s) {
        for (size_t gi = 0; gi < g.groups; ++gi) {
            const T* xs = columns(g, x + (s * g.c + gi * g.cg()) * g.plane(), (*cols).data());
            detail::blas_gemm(false, true, detail::GemmDims{og, k, plane, plane, plane},
                              y + (s * g.o + gi * og) * plane, xs, dw.data() + gi * og * k, s == 0 ? T(0) : T(1));
        }
    }
    return dw;
}

/// The bias gradient: grad summed over every dim but the channels.
template <class T>
Tensor<T> bias_grad(const Tensor<T>& grad, const Geometry& g) {
    Dims dims;
    for (size_t d = 0; d < grad.ndim(); ++d) {
        if (d != g.channel_dim) dims.push_back(static_cast<std::int64_t>(d));
    }
    return tapegrad::sum(grad, dims);
}

template <class T>
Tensor<T> conv_forward(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, const Geometry& g,
                       const Shape& shape);
template <class T>
Tensor<T> transpose_forward(const Tensor<T>& y, const Tensor<T>& w, const Tensor<T>& b, const Geometry& g,
                            const Shape& shape);
template <class T>
Tensor<T> weight_forward(const Tensor<T>& x, const Tensor<T>& y, const Geometry& g, const Shape& shape);

/// The nodes of conv2d and conv_transpose2d: inputs (a, w) or (a, w, bias).
template <class T, class F>
Tensor<T> record_conv(const char* op, const Tensor<T>& a, const Tensor<T>& w, const Tensor<T>& b, xt::xarray<T> value,
                      F rule) {
    if (b.defined()) return record<T>(op, {a, w, b}, std::move(value), std::move(rule));
    return record<T>(op, {a, w}, std::move(value), std::move(rule));
}

/// x -> y (`shape`: y's). dx = transpose_forward(grad, w), dw = weight_forward(x, grad), db = Σ grad.
template <class T>
Tensor<T> conv_forward(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, const Geometry& g,
                       const Shape& shape) {
    const bool has_bias = b.defined();
    auto value = conv_value(g, x.value().data(), w.value().data(), b, shape);
    return record_conv<T>("conv2d", x, w, b, std::move(value), [g, has_bias](const Backward<T>& ctx) -> Grads<T> {
        const auto& grad = ctx.grad();
        Grads<T> grads(has_bias ? 3 : 2);
        if (ctx.needs(0)) grads[0] = transpose_forward(grad, ctx.input(1), Tensor<T>(), g, ctx.input(0).shape());
        if (ctx.needs(1)) grads[1] = weight_forward(ctx.input(0), grad, g, ctx.input(1).shape());
        if (has_bias && ctx.needs(2)) grads[2] = bias_grad(grad, g);
        return grads;
    });
}

/// y -> x (`shape`: x's), conv_forward's adjoint in x. dy = conv_forward(grad, w), dw = weight_forward(grad, y),
/// db = Σ grad.
template <class T>
Tensor<T> transpose_forward(const Tensor<T>& y, const Tensor<T>& w, const Tensor<T>& b, const Geometry& g,
                            const Shape& shape) {
    const bool has_bias = b.defined();
    auto value = transpose_value(g, y.value().data(), w.value().data(), b, shape);
    return record_conv<T>("conv_transpose2d", y, w, b, std::move(value),
                          [g, has_bias](const Backward<T>& ctx) -> Grads<T> {
                              const auto& grad = ctx.grad();
                              Grads<T> grads(has_bias ? 3 : 2);
                              if (ctx.needs(0))
                                  grads[0] = conv_forward(grad, ctx.input(1), Tensor<T>(), g, ctx.input(0).shape());
                              if (ctx.needs(1)) grads[1] = weight_forward(grad, ctx.input(0), g, ctx.input(1).shape());
                              if (has_bias && ctx.needs(2)) grads[2] = bias_grad(grad, g);
                              return grads;
                          });
}

/// (x, y) -> the weight (`shape`). For an incoming G: dx = transpose_forward(y, G), dy = conv_forward(x, G).
template <class T>
Tensor<T> weight_forward(const Tensor<T>& x, const Tensor<T>& y, const Geometry& g, const Shape& shape) {
    auto value = weight_value(g, x.value().data(), y.value().data(), shape);
    return record<T>("conv2d_weight", {x, y}, std::move(value), [g](const Backward<T>& ctx) -> Grads<T> {
        const auto& grad = ctx.grad();
        Grads<T> grads(2);
        if (ctx.needs(0)) grads[0] = transpose_forward(ctx.input(1), grad, Tensor<T>(), g, ctx.input(0).shape());
        if (ctx.needs(1)) grads[1] = conv_forward(ctx.input(0), grad, Tensor<T>(), g, ctx.input(1).shape());
        return grads;
    });
}

/// One call's arguments in 2-D terms (conv1d's with a unit height), checked by plan().
template <class T>
struct Call {
    const char* op;
    size_t spatial;  // 1 (conv1d) or 2
    bool transposed;
    const Tensor<T>& x;
    const Tensor<T>& weight;
    const Tensor<T>& bias;
    Size2 stride, dilation, output_padding;
    ConvPadding2d padding;
    std::int64_t groups;

    std::string str(Size2 v) const { return spatial == 1 ? fmt::format("{}", v.w) : fmt::format("({}, {})", v.h, v.w); }
    std::string shapes() const {
        return fmt::format("x has shape {}, weight has shape {}", shape_str(x.shape()), shape_str(weight.shape()));
    }
    const char* dim_name(size_t d) const { return spatial == 1 ? "L" : d == 0 ? "H" : "W"; }
    size_t batched() const { return x.ndim() == spatial + 2 ? 1 : 0; }
    /// Spatial size d (0: height, 1: width) of a tensor whose last `spatial` dims are spatial.
    size_t size_of(const Shape& s, size_t d) const { return spatial == 1 && d == 0 ? 1 : s[s.size() - 2 + d]; }
};

/// Ranks and sizes of x and weight.
template <class T>
void check_tensors(const Call<T>& a) {
    check_defined(a.op, "x", a.x);
    check_defined(a.op, "weight", a.weight);
    const char* sp = a.spatial == 1 ? "L" : "H, W";
    if (a.x.ndim() != a.spatial + 1 && a.x.ndim() != a.spatial + 2) {
        fail<ShapeError>("{}: x has shape {}; expected {}-D (unbatched [C, {}]) or {}-D ([N, C, {}])", a.op,
                         shape_str(a.x.shape()), a.spatial + 1, sp, a.spatial + 2, sp);
    }
    if (a.weight.ndim() != a.spatial + 2) {
        fail<ShapeError>("{}: weight has shape {}; expected {}-D ([{}, {} / groups, {}])", a.op,
                         shape_str(a.weight.shape()), a.spatial + 2, a.transposed ? "in_channels" : "out_channels",
                         a.transposed ? "out_channels" : "in_channels", a.spatial == 1 ? "kL" : "kH, kW");
    }
    const Shape& sx = a.x.shape();
    if (std::find(sx.begin() + ptrdiff_t(a.batched()), sx.end(), 0) != sx.end()) {
        fail<ShapeError>("{}: x has shape {}; every dim but the batch must be positive", a.op, shape_str(sx));
    }
    if (a.weight.numel() == 0) {
        fail<ShapeError>("{}: weight has shape {}; every dim must be positive", a.op, shape_str(a.weight.shape()));
    }
}

/// Stride, dilation, padding, output_padding and groups.
template <class T>
void check_scalars(const Call<T>& a) {
    if (a.groups < 1) fail<ValueError>("{}: groups is {}; expected >= 1", a.op, a.groups);
    if (a.stride.h < 1 || a.stride.w < 1) fail<ValueError>("{}: stride is {}; expected >= 1", a.op, a.str(a.stride));
    if (a.dilation.h < 1 || a.dilation.w < 1) {
        fail<ValueError>("{}: dilation is {}; expected >= 1", a.op, a.str(a.dilation));
    }
    if (!a.padding.mode && (a.padding.size.h < 0 || a.padding.size.w < 0)) {
        fail<ValueError>("{}: padding is {}; expected >= 0", a.op, a.str(a.padding.size));
    }
    if (a.padding.mode == Padding::Same && (a.stride.h != 1 || a.stride.w != 1)) {
        fail<ValueError>("{}: padding 'same' needs stride 1 (as PyTorch), got stride {}", a.op, a.str(a.stride));
    }
    const Size2 op = a.output_padding;
    if (op.h < 0 || op.w < 0) fail<ValueError>("{}: output_padding is {}; expected >= 0", a.op, a.str(op));
    if ((op.h >= a.stride.h && op.h >= a.dilation.h) || (op.w >= a.stride.w && op.w >= a.dilation.w)) {
        fail<ValueError>("{}: output_padding {} must be smaller than either stride {} or dilation {}", a.op, a.str(op),
                         a.str(a.stride), a.str(a.dilation));
    }
}

/// Channels against groups and the weight, and the bias; returns the output channels.
template <class T>
size_t check_channels(const Call<T>& a) {
    const size_t c = a.x.shape()[a.batched()];
    const auto groups = size_t(a.groups);
    const Shape& sw = a.weight.shape();
    if (c % groups != 0) {
        fail<ShapeError>("{}: x has shape {} with {} channels, not divisible by groups {}", a.op,
                         shape_str(a.x.shape()), c, groups);
    }
    if (!a.transposed && sw[0] % groups != 0) {
        fail<ShapeError>("{}: weight has shape {}; out_channels {} is not divisible by groups {}", a.op, shape_str(sw),
                         sw[0], groups);
    }
    const size_t expected = a.transposed ? sw[0] : sw[1] * groups;
    if (c != expected) {
        fail<ShapeError>("{}: {}, groups {}; x's {} channels must equal {} = {}", a.op, a.shapes(), groups, c,
                         a.transposed ? "weight.shape[0]" : "weight.shape[1] * groups", expected);
    }
    const size_t out = a.transposed ? sw[1] * groups : sw[0];
    if (a.bias.defined() && a.bias.shape() != Shape{out}) {
        fail<ShapeError>("{}: bias has shape {}, weight has shape {}; expected [{}] (one per output channel)", a.op,
                         shape_str(a.bias.shape()), shape_str(sw), out);
    }
    return out;
}

/// The checked call as a Geometry.
template <class T>
Geometry plan(const Call<T>& a) {
    check_tensors(a);
    check_scalars(a);
    const size_t out_channels = check_channels(a);
    const Shape& sx = a.x.shape();
    const Shape& sw = a.weight.shape();
    const size_t kernel[2] = {a.size_of(sw, 0), a.size_of(sw, 1)};
    const std::int64_t stride[2] = {a.stride.h, a.stride.w}, dilation[2] = {a.dilation.h, a.dilation.w};
    const std::int64_t out_pad[2] = {a.output_padding.h, a.output_padding.w};
    std::int64_t before[2] = {0, 0}, total[2] = {0, 0}, in[2] = {0, 0}, out[2] = {0, 0};
    for (size_t d = 0; d < 2; ++d) {
        const std::int64_t span = dilation[d] * std::int64_t(kernel[d] - 1);  // the dilated kernel's extent - 1
        const std::int64_t p = d == 0 ? a.padding.size.h : a.padding.size.w;
        before[d] = a.padding.mode == Padding::Same ? span / 2 : a.padding.mode ? 0 : p;
        total[d] = a.padding.mode == Padding::Same ? span : 2 * before[d];
        in[d] = std::int64_t(a.size_of(sx, d));
        if (a.transposed) {
            out[d] = (in[d] - 1) * stride[d] - total[d] + span + out_pad[d] + 1;
            if (out[d] <= 0) {
                fail<ShapeError>(
                    "{}: {}, stride {}, padding {}, output_padding {}, dilation {}; the output size {} "
                    "along {} is not positive",
                    a.op, a.shapes(), a.str(a.stride), a.str(a.padding.size), a.str(a.output_padding),
                    a.str(a.dilation), out[d], a.dim_name(d));
            }
        } else {
            if (span + 1 > in[d] + total[d]) {
                fail<ShapeError>("{}: {}; the kernel (dilated: {}) is larger than the padded input ({}) along {}", a.op,
                                 a.shapes(), span + 1, in[d] + total[d], a.dim_name(d));
            }
            out[d] = (in[d] + total[d] - span - 1) / stride[d] + 1;
        }
    }
    // The input side (x of a convolution, the output of a transposed one) and the output side.
    const size_t n = a.batched() ? sx[0] : 1, channels = sx[a.batched()];
    const auto side = [&](size_t d, bool input) { return size_t(input != a.transposed ? in[d] : out[d]); };
    return Geometry{n,
                    a.transposed ? out_channels : channels,
                    side(0, true),
                    side(1, true),
                    a.transposed ? channels : out_channels,
                    kernel[0],
                    kernel[1],
                    side(0, false),
                    side(1, false),
                    size_t(stride[0]),
                    size_t(stride[1]),
                    size_t(dilation[0]),
                    size_t(dilation[1]),
                    size_t(a.groups),
                    ptrdiff_t(before[0]),
                    ptrdiff_t(before[1]),
                    a.batched()};
}

/// The shape of the call's result: x's with the channels and spatial sizes of the other side.
template <class T>
Shape result_shape(const Call<T>& a, const Geometry& g) {
    Shape s = a.x.shape();
    s[a.batched()] = a.transposed ? g.c : g.o;
    s.back() = a.transposed ? g.w : g.wo;
    if (a.spatial == 2) s[s.size() - 2] = a.transposed ? g.h : g.ho;
    return s;
}

template <class T>
Tensor<T> run(const Call<T>& a) {
    const Geometry g = plan(a);
    const Shape shape = result_shape(a, g);
    return a.transposed ? transpose_forward(a.x, a.weight, a.bias, g, shape)
                        : conv_forward(a.x, a.weight, a.bias, g, shape);
}

}  // namespace

template <class T>
Tensor<T> conv2d(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias, Size2 stride,
                 ConvPadding2d padding, Size2 dilation, std::int64_t groups) {
    return run(Call<T>{"conv2d", 2, false, x, weight, bias, stride, dilation, 0, padding, groups});
}

template <class T>
Tensor<T> conv1d(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias, std::int64_t stride,
                 ConvPadding1d padding, std::int64_t dilation, std::int64_t groups) {
    const ConvPadding2d pad = padding.mode ? ConvPadding2d(*padding.mode) : ConvPadding2d(0, padding.size);
    return run(Call<T>{"conv1d", 1, false, x, weight, bias, {1, stride}, {1, dilation}, 0, pad, groups});
}

template <class T>
Tensor<T> conv_transpose2d(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias, Size2 stride,
                           Size2 padding, Size2 output_padding, std::int64_t groups, Size2 dilation) {
    return run(Call<T>{"conv_transpose2d", 2, true, x, weight, bias, stride, dilation, output_padding,
                       ConvPadding2d(padding.h, padding.w), groups});
}

namespace detail {

template <class T>
Tensor<T> conv2d_weight(const Tensor<T>& x, const Tensor<T>& gy, const Shape& weight_shape, Size2 stride, Size2 padding,
                        Size2 dilation, std::int64_t groups) {
    const Shape& sx = x.shape();
    const Shape& sy = gy.shape();
    const Geometry g{sx[0],
                     sx[1],
                     sx[2],
                     sx[3],
                     weight_shape[0],
                     weight_shape[2],
                     weight_shape[3],
                     sy[2],
                     sy[3],
                     size_t(stride.h),
                     size_t(stride.w),
                     size_t(dilation.h),
                     size_t(dilation.w),
                     size_t(groups),
                     ptrdiff_t(padding.h),
                     ptrdiff_t(padding.w),
                     1};
    return weight_forward(x, gy, g, weight_shape);
}

}  // namespace detail

#define TAPEGRAD_INSTANTIATE(T)                                                                                     \
    template Tensor<T> conv2d(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, Size2, ConvPadding2d, Size2,    \
                              std::int64_t);                                                                        \
    template Tensor<T> conv1d(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, std::int64_t, ConvPadding1d,    \
                              std::int64_t, std::int64_t);                                                          \
    template Tensor<T> conv_transpose2d(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, Size2, Size2, Size2,  \
                                        std::int64_t, Size2);                                                       \
    template Tensor<T> detail::conv2d_weight(const Tensor<T>&, const Tensor<T>&, const Shape&, Size2, Size2, Size2, \
                                             std::int64_t);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
