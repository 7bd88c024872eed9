#include <tapegrad/ops/pooling.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include <tapegrad/autograd/node.hpp>
#include <tapegrad/autograd/plain_tensor.hpp>
#include <tapegrad/ops/check.hpp>

namespace tapegrad {

// Every pool sees x as `planes` images of H x W (planes: the product of the leading dims; a 1-d
// pool is a 2-d pool with H = 1 and a 1 x 1 kernel along it). Each output position reads a window
// of x whose rows and columns come from one Axis per spatial dim.

namespace {

/// One spatial dim of a pool, as the user gave it (already checked) and its output size.
struct Axis {
    std::int64_t in = 1, kernel = 1, stride = 1, padding = 0, dilation = 1, out = 1;
};

/// The geometry of a pool on x: its planes, its two spatial axes, the input and output shapes.
struct Geometry {
    std::size_t planes = 1;
    Axis h, w;
    Shape in_shape, out_shape;
};

/// PyTorch's pooling_output_shape: floor (or ceil) of the window count, and under ceil_mode the
/// last window must start inside the input or its left padding.
std::int64_t pooled_size(const Axis& a, bool ceil_mode) {
    const std::int64_t span = a.in + 2 * a.padding - a.dilation * (a.kernel - 1) - 1 + (ceil_mode ? a.stride - 1 : 0);
    std::int64_t out = (span >= 0 ? span / a.stride : -((-span + a.stride - 1) / a.stride)) + 1;
    if (ceil_mode && out > 0 && (out - 1) * a.stride >= a.in + a.padding) --out;
    return out;
}

/// The checks every pool makes on its integer arguments: `what` (kernel_size, stride, ...) at least
/// `least`, values given as {h, w} (a 1-d pool names only w).
void check_at_least(const char* op, const char* what, Size2 v, std::int64_t least, bool one_d) {
    if (v.h >= least && v.w >= least) return;
    const std::string given = one_d ? fmt::format("{}", v.w) : fmt::format("[{}, {}]", v.h, v.w);
    fail<ValueError>("{}: {} must be {} but is {}", op, what, least == 0 ? "non-negative" : "positive", given);
}

/// x checked (defined, its rank, non-zero channel and spatial sizes) and its geometry with every
/// argument checked; out-of-range values name the op, the argument and x's shape.
template <class T>
Geometry geometry(const char* op, const Tensor<T>& x, bool one_d, Size2 kernel, std::optional<Size2> stride,
                  Size2 padding, Size2 dilation, bool ceil_mode) {
    check_defined(op, "x", x);
    const std::size_t spatial = one_d ? 1 : 2;
    if (x.ndim() != spatial + 1 && x.ndim() != spatial + 2) {
        fail<ShapeError>("{}: x has shape {}; expected {} dims ({}) or {} (unbatched)", op, shape_str(x.shape()),
                         spatial + 2, one_d ? "N, C, L" : "N, C, H, W", spatial + 1);
    }
    const Shape& s = x.shape();
    for (std::size_t d = x.ndim() - spatial - 1; d < x.ndim(); ++d) {
        if (s[d] == 0) fail<ShapeError>("{}: x has shape {}; only the batch dim may be 0", op, shape_str(s));
    }
    check_at_least(op, "kernel_size", kernel, 1, one_d);
    const Size2 step = stride.value_or(kernel);
    check_at_least(op, "stride", step, 1, one_d);
    check_at_least(op, "padding", padding, 0, one_d);
    check_at_least(op, "dilation", dilation, 1, one_d);
    if (padding.h > kernel.h / 2 || padding.w > kernel.w / 2) {
        if (one_d) fail<ValueError>("{}: padding {} must be at most half of kernel_size {}", op, padding.w, kernel.w);
        fail<ValueError>("{}: padding [{}, {}] must be at most half of kernel_size [{}, {}]", op, padding.h, padding.w,
                         kernel.h, kernel.w);
    }
    Geometry g;
    const std::size_t n = x.ndim();
    g.h = Axis{one_d ? 1 : static_cast<std::int64_t>(s[n - 2]), kernel.h, step.h, padding.h, dilation.h, 1};
    g.w = Axis{static_cast<std::int64_t>(s[n - 1]), kernel.w, step.w, padding.w, dilation.w, 1};
    g.h.out = pooled_size(g.h, ceil_mode);
    g.w.out = pooled_size(g.w, ceil_mode);
    if (g.h.out < 1 || g.w.out < 1) {
        const auto reach = [](const Axis& a) { return a.dilation * (a.kernel - 1) + 1; };
        const auto padded = [](const Axis& a) { return a.in + 2 * a.padding; };
        if (one_d) {
            fail<ShapeError>(
                "{}: kernel_size {} (dilated: {}) is larger than the padded input {} (x has shape {}); "
                "the output size would be {}",
                op, kernel.w, reach(g.w), padded(g.w), shape_str(s), g.w.out);
        }
        fail<ShapeError>(
            "{}: kernel_size [{}, {}] (dilated: [{}, {}]) is larger than the padded input [{}, {}] (x "
            "has shape {}); the output size would be [{}, {}]",
            op, kernel.h, kernel.w, reach(g.h), reach(g.w), padded(g.h), padded(g.w), shape_str(s), g.h.out, g.w.out);
    }
    g.in_shape = s;
    g.out_shape = s;
    g.out_shape[n - 1] = static_cast<std::size_t>(g.w.out);
    if (!one_d) g.out_shape[n - 2] = static_cast<std::size_t>(g.h.out);
    for (std::size_t d = 0; d + spatial < n; ++d) g.planes *= s[d];
    return g;
}

// ---- max pooling ----

/// For output position o along an axis, the input positions its window reads, padding dropped:
/// taps[o * kernel + j] is the j-th one, or -1 where it falls in the padding.
std::vector<std::int64_t> taps(const Axis& a) {
    std::vector<std::int64_t> t(static_cast<std::size_t>(a.out * a.kernel));
    for (std::int64_t o = 0; o < a.out; ++o) {
        for (std::int64_t j = 0; j < a.kernel; ++j) {
            const std::int64_t at = o * a.stride - a.padding + j * a.dilation;
            t[static_cast<std::size_t>(o * a.kernel + j)] = at >= 0 && at < a.in ? at : -1;
        }
    }
    return t;
}

/// y[p, oh, ow] = the window's maximum and idx[p, oh * OW + ow] its flat position h * W + w in plane
/// p: the first largest in row-major window order, a NaN replacing it (PyTorch's CPU kernel:
/// `val > max || isnan(val)`). The start is the window's first element inside x (ceil_mode and
/// the padding rule keep every window non-empty).
template <class T>
void max_pool_kernel(const T* x, const Geometry& g, T* y, std::int64_t* idx) {
    const std::vector<std::int64_t> th = taps(g.h), tw = taps(g.w);
    const std::int64_t plane = g.h.in * g.w.in, outs = g.h.out * g.w.out;
    for (std::size_t p = 0; p < g.planes; ++p) {
        const T* xp = x + static_cast<std::int64_t>(p) * plane;
        for (std::int64_t oh = 0; oh < g.h.out; ++oh) {
            const std::int64_t* rows = th.data() + oh * g.h.kernel;
            for (std::int64_t ow = 0; ow < g.w.out; ++ow) {
                const std::int64_t* cols = tw.data() + ow * g.w.kernel;
                T best = -std::numeric_limits<T>::infinity();
                std::int64_t at = -1;
                for (std::int64_t i = 0; i < g.h.kernel; ++i) {
                    if (rows[i] < 0) continue;
                    const std::int64_t row = rows[i] * g.w.in;
                    for (std::int64_t j = 0; j < g.w.kernel; ++j) {
                        if (cols[j] < 0) continue;
                        const T v = xp[row + cols[j]];
                        if (at < 0) at = row + cols[j];
                        if (v > best || std::isnan(v)) {
                            best = v;
                            at = row + cols[j];
                        }
                    }
                }
                const std::int64_t o = static_cast<std::int64_t>(p) * outs + oh * g.w.out + ow;
                y[o] = best;
                idx[o] = at;
            }
        }
    }
}

/// Whether every window is a 2 x 2 block at stride 2 inside x (no padding or dilation, no
/// ceil_mode window hanging over the edge): the common pooling layer, with its own kernel.
bool is_2x2_blocks(const Geometry& g) {
    const auto blocks = [](const Axis& a) {
        return a.kernel == 2 && a.stride == 2 && a.padding == 0 && a.dilation == 1 && 2 * a.out <= a.in;
    };
    return blocks(g.h) && blocks(g.w);
}

/// max_pool_kernel on 2 x 2 blocks (is_2x2_blocks): the same choice (the first largest in
/// row-major order, a later NaN replacing it), the four candidates compared without tap tables
/// and without branches.
template <class T>
void max_pool_2x2_kernel(const T* x, const Geometry& g, T* y, std::int64_t* idx) {
    const std::int64_t w = g.w.in, plane = g.h.in * w, oh_count = g.h.out, ow_count = g.w.out;
    for (std::size_t p = 0; p < g.planes; ++p) {
        const T* xp = x + static_cast<std::int64_t>(p) * plane;
        for (std::int64_t oh = 0; oh < oh_count; ++oh) {
            const std::int64_t top = 2 * oh * w;
            T* yr = y + (static_cast<std::int64_t>(p) * oh_count + oh) * ow_count;
            std::int64_t* ir = idx + (static_cast<std::int64_t>(p) * oh_count + oh) * ow_count;
            for (std::int64_t ow = 0; ow < ow_count; ++ow) {
                const std::int64_t at0 = top + 2 * ow;
                T best = xp[at0];
                std::int64_t at = at0;
                for (const std::int64_t pos : {at0 + 1, at0 + w, at0 + w + 1}) {
                    const T v = xp[pos];
                    const bool take = v > best || std::isnan(v);
                    best = take ? v : best;
                    at = take ? pos : at;
                }
                yr[ow] = best;
                ir[ow] = at;
            }
        }
    }
}

// ---- max pooling: the kernel, then a pair of linear maps, each the other's adjoint ----

/// The argmax of every window: for plane p and output o, the flat position in plane p of x.
using SharedArgmax = std::shared_ptr<const Indices>;

/// Calls f(position in x, position in y) for every output of every plane: its window's argmax.
template <class F>
void for_each_argmax(const Geometry& g, const Indices& idx, F f) {
    const std::size_t plane = static_cast<std::size_t>(g.h.in * g.w.in);
    const std::size_t outs = static_cast<std::size_t>(g.h.out * g.w.out);
    const std::int64_t* at = idx.begin();
    for (std::size_t p = 0; p < g.planes; ++p) {
        for (std::size_t o = 0; o < outs; ++o) f(p * plane + static_cast<std::size_t>(at[p * outs + o]), p * outs + o);
    }
}

template <class T>
Tensor<T> scatter_to_argmax(const Tensor<T>& t, const Geometry& g, SharedArgmax idx);

/// y[p, o] = t[p, idx[p, o]]: t (x's shape) read at each window's argmax. The max pools' tangent
/// (dy = dx at the argmax the backward chose) and the derivative of their backward.
///   d/dt = scatter_to_argmax(grad)   tangent: gather_at_argmax(dt) (linear)
template <class T>
Tensor<T> gather_at_argmax(const Tensor<T>& t, const Geometry& g, SharedArgmax idx) {
    xt::xarray<T> out = detail::take_buffer<T>("max_pool", g.out_shape);
    const T* src = t.value().data();
    T* dst = out.data();
    for_each_argmax(g, *idx, [&](std::size_t in_x, std::size_t in_y) { dst[in_y] = src[in_x]; });
    return record<T>(
        "max_pool", {t}, std::move(out),
        [g, idx](const Backward<T>& ctx) -> Grads<T> { return {scatter_to_argmax(ctx.grad(), g, idx)}; },
        [g, idx](const Forward<T>& ctx) { return gather_at_argmax(ctx.tangent(0), g, idx); });
}

/// The adjoint: zeros of x's shape with t[p, o] added at idx[p, o] (windows that overlap may share
/// an argmax). The max pools' backward.
///   d/dt = gather_at_argmax(grad)   tangent: scatter_to_argmax(dt) (linear)
template <class T>
Tensor<T> scatter_to_argmax(const Tensor<T>& t, const Geometry& g, SharedArgmax idx) {
    xt::xarray<T> out = detail::take_buffer<T>("max_pool_backward", g.in_shape);
    out.fill(T(0));
    const T* src = t.value().data();
    T* dst = out.data();
    for_each_argmax(g, *idx, [&](std::size_t in_x, std::size_t in_y) { dst[in_x] += src[in_y]; });
    return record<T>(
        "max_pool_backward", {t}, std::move(out),
        [g, idx](const Backward<T>& ctx) -> Grads<T> { return {gather_at_argmax(ctx.grad(), g, idx)}; },
        [g, idx](const Forward<T>& ctx) { return scatter_to_argmax(ctx.tangent(0), g, idx); });
}

/// The max pools: the kernel (values and the argmax of each window), then a node whose backward
/// adds g at the argmax and whose tangent is dx there.
template <class T>
Tensor<T> max_pool(const char* op, const Tensor<T>& x, const Geometry& g) {
    xt::xarray<T> out = detail::take_buffer<T>(op, g.out_shape);
    const std::size_t outs = static_cast<std::size_t>(g.h.out * g.w.out);
    auto idx = std::make_shared<Indices>(Indices::full({g.planes, outs}, 0));
    if (is_2x2_blocks(g)) {
        max_pool_2x2_kernel(x.value().data(), g, out.data(), idx->mutable_value().data());
    } else {
        max_pool_kernel(x.value().data(), g, out.data(), idx->mutable_value().data());
    }
    SharedArgmax argmax = std::move(idx);
    return record<T>(
        op, {x}, std::move(out),
        [g, argmax](const Backward<T>& ctx) -> Grads<T> { return {scatter_to_argmax(ctx.grad(), g, argmax)}; },
        [g, argmax](const Forward<T>& ctx) { return gather_at_argmax(ctx.tangent(0), g, argmax); });
}

// ---- average pooling: a linear map and its adjoint, each the other's derivative ----

/// Output position o of an axis averages x's positions [begin, end); `count` is its share of the
/// divisor (the window's size with or without the padding, or the adaptive window's size).
struct Span {
    std::int64_t begin = 0, end = 0, count = 0;
};

/// What an average pool computes: per output (oh, ow) the rectangle hs[oh] x ws[ow] of each plane,
/// divided by divisor (when given) or by hs[oh].count * ws[ow].count.
struct Windows {
    Geometry g;
    std::vector<Span> hs, ws;
    std::optional<std::int64_t> divisor;

    /// 1 / divisor of output (oh, ow); 0 for a window without an element of x (PyTorch outputs 0).
    double scale(std::size_t oh, std::size_t ow) const {
        const Span &a = hs[oh], &b = ws[ow];
        if (a.begin >= a.end || b.begin >= b.end) return 0.0;
        return 1.0 / static_cast<double>(divisor ? *divisor : a.count * b.count);
    }
};

using SharedWindows = std::shared_ptr<const Windows>;

/// avg_pool's spans on an axis: PyTorch's window [o s - p, min(o s - p + k, in + p)), cut to x.
std::vector<Span> pool_spans(const Axis& a, bool count_include_pad) {
    std::vector<Span> spans(static_cast<std::size_t>(a.out));
    for (std::int64_t o = 0; o < a.out; ++o) {
        const std::int64_t start = o * a.stride - a.padding, stop = std::min(start + a.kernel, a.in + a.padding);
        Span& s = spans[static_cast<std::size_t>(o)];
        s.begin = std::max<std::int64_t>(start, 0);
        s.end = std::min(stop, a.in);
        s.count = count_include_pad ? stop - start : s.end - s.begin;
    }
    return spans;
}

/// adaptive_avg_pool's spans: [floor(o in / out), ceil((o + 1) in / out)).
std::vector<Span> adaptive_spans(std::int64_t in, std::int64_t out) {
    std::vector<Span> spans(static_cast<std::size_t>(out));
    for (std::int64_t o = 0; o < out; ++o) {
        const std::int64_t b = o * in / out, e = ((o + 1) * in + out - 1) / out;
        spans[static_cast<std::size_t>(o)] = Span{b, e, e - b};
    }
    return spans;
}

/// Calls f(offset of the plane in x, offset of the output in y, oh, ow) for every output position
/// (oh, ow) of every plane.
template <class F>
void for_each_tap(const Windows& win, F f) {
    const std::size_t plane = static_cast<std::size_t>(win.g.h.in * win.g.w.in);
    const std::size_t outs = win.hs.size() * win.ws.size();
    for (std::size_t p = 0; p < win.g.planes; ++p) {
        for (std::size_t oh = 0; oh < win.hs.size(); ++oh) {
            for (std::size_t ow = 0; ow < win.ws.size(); ++ow) {
                f(p * plane, p * outs + oh * win.ws.size() + ow, oh, ow);
            }
        }
    }
}

template <class T>
Tensor<T> spread(const Tensor<T>& g, SharedWindows win);

/// y[o] = scale(o) * the sum of x over window o: the forward of avg_pool2d, avg_pool1d and
/// adaptive_avg_pool2d, recorded as op.   d/dx = spread(g)   tangent: dy = window_mean(dx) (linear)
template <class T>
Tensor<T> window_mean(const char* op, const Tensor<T>& x, SharedWindows win) {
    xt::xarray<T> out = detail::take_buffer<T>(op, win->g.out_shape);
    const T* src = x.value().data();
    T* dst = out.data();
    const auto w_in = static_cast<std::size_t>(win->g.w.in);
    for_each_tap(*win, [&](std::size_t xp, std::size_t o, std::size_t oh, std::size_t ow) {
        const Span &a = win->hs[oh], &b = win->ws[ow];
        T sum = T(0);
        for (auto h = a.begin; h < a.end; ++h) {
            const T* row = src + xp + static_cast<std::size_t>(h) * w_in;
            for (auto w = b.begin; w < b.end; ++w) sum += row[w];
        }
        dst[o] = sum * static_cast<T>(win->scale(oh, ow));
    });
    return record<T>(
        op, {x}, std::move(out), [win](const Backward<T>& ctx) -> Grads<T> { return {spread(ctx.grad(), win)}; },
        [op, win](const Forward<T>& ctx) { return window_mean(op, ctx.tangent(0), win); });
}

/// The adjoint of window_mean: zeros of x's shape with scale(o) g[o] added to every element of
/// window o.   d/dg = window_mean(grad)   tangent: spread(dg) (linear)
template <class T>
Tensor<T> spread(const Tensor<T>& g, SharedWindows win) {
    xt::xarray<T> out = detail::take_buffer<T>("avg_pool_backward", win->g.in_shape);
    out.fill(T(0));
    const T* src = g.value().data();
    T* dst = out.data();
    const auto w_in = static_cast<std::size_t>(win->g.w.in);
    for_each_tap(*win, [&](std::size_t xp, std::size_t o, std::size_t oh, std::size_t ow) {
        const Span &a = win->hs[oh], &b = win->ws[ow];
        const T v = src[o] * static_cast<T>(win->scale(oh, ow));
        for (auto h = a.begin; h < a.end; ++h) {
            T* row = dst + xp + static_cast<std::size_t>(h) * w_in;
            for (auto w = b.begin; w < b.end; ++w) row[w] += v;
        }
    });
    return record<T>(
        "avg_pool_backward", {g}, std::move(out),
        [win](const Backward<T>& ctx) -> Grads<T> { return {window_mean("avg_pool", ctx.grad(), win)}; },
        [win](const Forward<T>& ctx) { return spread(ctx.tangent(0), win); });
}

template <class T>
Tensor<T> avg_pool(const char* op, const Tensor<T>& x, const Geometry& g, bool count_include_pad,
                   std::optional<std::int64_t> divisor) {
    auto win = std::make_shared<Windows>();
    win->g = g;
    win->hs = pool_spans(g.h, count_include_pad);
    win->ws = pool_spans(g.w, count_include_pad);
    win->divisor = divisor;
    return window_mean(op, x, std::move(win));
}

}  // namespace

template <class T>
Tensor<T> max_pool2d(const Tensor<T>& x, Size2 kernel_size, std::optional<Size2> stride, Size2 padding, Size2 dilation,
                     bool ceil_mode) {
    const Geometry g = geometry("max_pool2d", x, false, kernel_size, stride, padding, dilation, ceil_mode);
    return max_pool("max_pool2d", x, g);
}

template <class T>
Tensor<T> max_pool1d(const Tensor<T>& x, std::int64_t kernel_size, std::optional<std::int64_t> stride,
                     std::int64_t padding, std::int64_t dilation, bool ceil_mode) {
    const std::optional<Size2> step = stride ? std::optional<Size2>(Size2{1, *stride}) : std::nullopt;
    const Geometry g =
        geometry("max_pool1d", x, true, Size2{1, kernel_size}, step, Size2{0, padding}, Size2{1, dilation}, ceil_mode);
    return max_pool("max_pool1d", x, g);
}

template <class T>
Tensor<T> avg_pool2d(const Tensor<T>& x, Size2 kernel_size, std::optional<Size2> stride, Size2 padding, bool ceil_mode,
                     bool count_include_pad, std::optional<std::int64_t> divisor_override) {
    const Geometry g = geometry("avg_pool2d", x, false, kernel_size, stride, padding, 1, ceil_mode);
    if (divisor_override && *divisor_override == 0) {
        fail<ValueError>("avg_pool2d: divisor_override must not be 0 (x has shape {})", shape_str(x.shape()));
    }
    return avg_pool("avg_pool2d", x, g, count_include_pad, divisor_override);
}

template <class T>
Tensor<T> avg_pool1d(const Tensor<T>& x, std::int64_t kernel_size, std::optional<std::int64_t> stride,
                     std::int64_t padding, bool ceil_mode, bool count_include_pad) {
    const std::optional<Size2> step = stride ? std::optional<Size2>(Size2{1, *stride}) : std::nullopt;
    const Geometry g = geometry("avg_pool1d", x, true, Size2{1, kernel_size}, step, Size2{0, padding}, 1, ceil_mode);
    return avg_pool("avg_pool1d", x, g, count_include_pad, std::nullopt);
}

template <class T>
Tensor<T> adaptive_avg_pool2d(const Tensor<T>& x, Size2 output_size) {
    const char* op = "adaptive_avg_pool2d";
    if (output_size.h < 1 || output_size.w < 1) {
        fail<ValueError>("{}: output_size [{}, {}] must be positive (x has shape {})", op, output_size.h, output_size.w,
                         x.defined() ? shape_str(x.shape()) : std::string("undefined"));
    }
    // The geometry of a 1 x 1 kernel checks x; the output size is then the one asked for.
    Geometry g = geometry(op, x, false, 1, 1, 0, 1, false);
    g.h.out = output_size.h;
    g.w.out = output_size.w;
    g.out_shape[g.out_shape.size() - 2] = static_cast<std::size_t>(output_size.h);
    g.out_shape[g.out_shape.size() - 1] = static_cast<std::size_t>(output_size.w);
    auto win = std::make_shared<Windows>();
    win->g = g;
    win->hs = adaptive_spans(g.h.in, g.h.out);
    win->ws = adaptive_spans(g.w.in, g.w.out);
    return window_mean(op, x, std::move(win));
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                    \
    template Tensor<T> max_pool2d(const Tensor<T>&, Size2, std::optional<Size2>, Size2, Size2, bool);              \
    template Tensor<T> max_pool1d(const Tensor<T>&, std::int64_t, std::optional<std::int64_t>, std::int64_t,       \
                                  std::int64_t, bool);                                                             \
    template Tensor<T> avg_pool2d(const Tensor<T>&, Size2, std::optional<Size2>, Size2, bool, bool,                \
                                  std::optional<std::int64_t>);                                                    \
    template Tensor<T> avg_pool1d(const Tensor<T>&, std::int64_t, std::optional<std::int64_t>, std::int64_t, bool, \
                                  bool);                                                                           \
    template Tensor<T> adaptive_avg_pool2d(const Tensor<T>&, Size2);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
