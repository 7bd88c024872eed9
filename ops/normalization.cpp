#include <tapegrad/ops/normalization.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <utility>

#include <fmt/format.h>

#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/ops/shape.hpp>
#include <tapegrad/ops/simd.hpp>

namespace tapegrad {

// Every op here is the one primitive `standardize` on x seen as [outer, groups, inner] (group b is
// x[:, b, :]: one slice for layer_norm, one sample's channels for group_norm, one channel for
// batch_norm), followed by the affine part composed from mul and add.

namespace {

/// x as [outer, groups, inner]; group b holds outer * inner elements.
struct Layout {
    std::size_t outer = 1;
    std::size_t groups = 1;
    std::size_t inner = 1;
    std::size_t count() const { return outer * inner; }
};

/// Per group: the shift (its first element; 0 for rms_norm), the mean of the shifted values (0 for
/// rms_norm), 1 / sqrt(var + eps), and var itself in double (the biased variance; rms_norm's mean
/// of squares), which batch_norm's running statistics take.
template <class T>
struct Moments {
    std::vector<T> shift, mean, rstd;
    std::vector<double> var;
};

/// acc[b] += the sum over group b of f(b)(elements), f(b) taking xsimd batches and single elements.
/// A contiguous run (inner > 1) is folded with vector loads; with inner = 1 (batch_norm of [N, C]),
/// the groups are the columns, added row by row.
template <class T, class F>
void accumulate(const T* x, const T* y, const Layout& l, std::vector<double>& acc, F f) {
    for (std::size_t a = 0; a < l.outer; ++a) {
        const std::size_t row = a * l.groups * l.inner;
        for (std::size_t b = 0; b < l.groups; ++b) {
            const std::size_t at = row + b * l.inner;
            const auto fb = f(b);
            if (l.inner == 1) {
                acc[b] += static_cast<double>(fb(x[at], y ? y[at] : T(0)));
            } else if (y) {
                acc[b] += simd::fold_sum(x + at, y + at, l.inner, fb);
            } else {
                acc[b] += simd::fold_sum(x + at, l.inner, [&fb](auto v) { return fb(v, v); });
            }
        }
    }
}

/// Two passes per group (the shifted mean, then the squared deviations from it), summed in double.
template <class T>
Moments<T> moments(const T* x, const Layout& l, bool center, double eps) {
    Moments<T> m{std::vector<T>(l.groups, T(0)), std::vector<T>(l.groups, T(0)), std::vector<T>(l.groups, T(1)),
                 std::vector<double>(l.groups, 0.0)};
    const auto n = static_cast<double>(l.count());
    if (l.count() == 0) return m;
    if (center) {
        std::vector<double> sum(l.groups, 0.0);
        for (std::size_t b = 0; b < l.groups; ++b) m.shift[b] = x[b * l.inner];
        accumulate<T>(x, nullptr, l, sum,
                      [&](std::size_t b) { return [s = m.shift[b]](auto v, auto) { return v - s; }; });
        for (std::size_t b = 0; b < l.groups; ++b) m.mean[b] = static_cast<T>(sum[b] / n);
    }
    accumulate<T>(x, nullptr, l, m.var, [&](std::size_t b) {
        return [s = m.shift[b], mu = m.mean[b]](auto v, auto) {
            const auto d = (v - s) - mu;
            return d * d;
        };
    });
    for (std::size_t b = 0; b < l.groups; ++b) {
        m.var[b] /= n;
        m.rstd[b] = static_cast<T>(1 / std::sqrt(m.var[b] + eps));
    }
    return m;
}

/// out[a, b, c] = f(b)(x[a, b, c], y[a, b, c]) for every element (y may be null).
template <class T, class F>
void for_each_group(const T* x, const T* y, T* out, const Layout& l, F f) {
    for (std::size_t a = 0; a < l.outer; ++a) {
        for (std::size_t b = 0; b < l.groups; ++b) {
            const std::size_t at = (a * l.groups + b) * l.inner;
            const auto fb = f(b);
            for (std::size_t c = at; c < at + l.inner; ++c) out[c] = fb(x[c], y ? y[c] : T(0));
        }
    }
}

/// The gradient of standardize without recording (grad mode off: a backward that builds no graph):
/// rstd (g - mean_n(g) - xhat mean_n(g xhat)), mean_n(g) left out for rms_norm.
template <class T>
Tensor<T> standardize_grad(const char* op, const Tensor<T>& g, const Tensor<T>& xhat, const Moments<T>& m,
                           const Layout& l, bool center) {
    const T* gv = g.value().data();
    const T* xh = xhat.value().data();
    const auto n = static_cast<double>(l.count());
    std::vector<double> sum_g(l.groups, 0.0), sum_gx(l.groups, 0.0);
    if (center) accumulate<T>(gv, nullptr, l, sum_g, [](std::size_t) { return [](auto v, auto) { return v; }; });
    accumulate<T>(gv, xh, l, sum_gx, [](std::size_t) { return [](auto a, auto b) { return a * b; }; });
    xt::xarray<T> out = detail::take_buffer<T>(op, g.shape());
    for_each_group(gv, xh, out.data(), l, [&](std::size_t b) {
        const T mg = static_cast<T>(sum_g[b] / n), mgx = static_cast<T>(sum_gx[b] / n), r = m.rstd[b];
        return [mg, mgx, r](T gi, T xi) { return r * (gi - mg - xi * mgx); };
    });
    return Tensor<T>(std::move(out));
}

/// x3's deviations from its group means (x3 itself without centring) and 1 / sqrt(var + eps) per
/// group, in ops on x3: for the rules of standardize that are differentiated again.
template <class T>
std::pair<Tensor<T>, Tensor<T>> recorded_moments(const Tensor<T>& x3, bool center, double eps) {
    const Dims dims{0, 2};
    Tensor<T> d = center ? x3 - tapegrad::mean(x3, dims, true) : x3;
    Tensor<T> rstd = rsqrt(tapegrad::mean(square(d), dims, true) + static_cast<T>(eps));
    return {std::move(d), std::move(rstd)};
}

/// xhat = (x - mean) / sqrt(var + eps) per group of x3 ([outer, groups, inner]), var biased; without
/// centring (rms_norm) xhat = x / sqrt(mean(x^2) + eps). `stats`, when given, receives the moments.
///   d/dx = rstd (g - mean_n(g) - xhat mean_n(g xhat))  (mean_n(g) left out without centring)
///   tangent: dxhat = rstd (dx - mean_n(dx) - xhat mean_n(dx xhat)) (the Jacobian is symmetric)
template <class T>
Tensor<T> standardize(const char* op, const Tensor<T>& x3, bool center, double eps, Moments<T>* stats = nullptr) {
    const Layout l{x3.shape()[0], x3.shape()[1], x3.shape()[2]};
    auto m = std::make_shared<Moments<T>>(moments(x3.value().data(), l, center, eps));
    xt::xarray<T> out = detail::take_buffer<T>(op, x3.shape());
    for_each_group(x3.value().data(), static_cast<const T*>(nullptr), out.data(), l, [&](std::size_t b) {
        return [s = m->shift[b], mu = m->mean[b], r = m->rstd[b]](T v, T) { return ((v - s) - mu) * r; };
    });
    if (stats) *stats = *m;
    return record<T>(
        op, {x3}, std::move(out),
        [op, m, l, center, eps](const Backward<T>& ctx) -> Grads<T> {
            if (!is_grad_enabled()) return {standardize_grad(op, ctx.grad(), ctx.output(), *m, l, center)};
            // Recorded (create_graph): the same formula in ops on x, so it can be differentiated again.
            const Dims dims{0, 2};
            const auto [d, rstd] = recorded_moments(ctx.input(0), center, eps);
            const Tensor<T> xhat = d * rstd;
            const Tensor<T>& g = ctx.grad();
            Tensor<T> inner = g - xhat * tapegrad::mean(g * xhat, dims, true);
            if (center) inner = inner - tapegrad::mean(g, dims, true);
            return {rstd * inner};
        },
        [m, l, center, eps](const Forward<T>& ctx) {
            const Dims dims{0, 2};
            // The saved 1 / std is a constant; when x's own gradient is recorded it must be a function
            // of x, so that the tangent is differentiable in x too (reverse over forward).
            Tensor<T> rstd;
            if (ctx.input(0).requires_grad() && is_grad_enabled()) {
                rstd = recorded_moments(ctx.input(0), center, eps).second;
            } else {
                xt::xarray<T> r = xt::xarray<T>::from_shape({1, l.groups, 1});
                std::copy(m->rstd.begin(), m->rstd.end(), r.begin());
                rstd = Tensor<T>(std::move(r));
            }
            const Tensor<T>& xhat = ctx.output();
            const Tensor<T>& dx = ctx.tangent(0);
            Tensor<T> inner = dx - xhat * tapegrad::mean(dx * xhat, dims, true);
            if (center) inner = inner - tapegrad::mean(dx, dims, true);
            return rstd * inner;
        });
}

template <class T>
Tensor<T> reshaped(const Tensor<T>& t, const Shape& shape) {
    return t.shape() == shape ? t : reshape(t, shape);
}

/// y * w + b, each of w and b reshaped to `as` (so that it broadcasts per channel) when defined.
template <class T>
Tensor<T> affine(Tensor<T> y, const Tensor<T>& w, const Tensor<T>& b, const Shape& as) {
    if (w.defined()) y = y * reshaped(w, as);
    if (b.defined()) y = y + reshaped(b, as);
    return y;
}

void check_eps(const char* op, double eps) {
    if (!(eps >= 0)) fail<ValueError>("{}: eps = {} must be a number >= 0", op, eps);
}

/// An optional per-element or per-channel tensor: undefined, or exactly of `shape`.
template <class T>
void check_param(const char* op, const char* arg, const Tensor<T>& t, const Shape& shape, const Tensor<T>& x) {
    if (t.defined() && t.shape() != shape) {
        fail<ShapeError>("{}: {} has shape {}; expected {} for x of shape {}", op, arg, shape_str(t.shape()),
                         shape_str(shape), shape_str(x.shape()));
    }
}

/// normalized_shape is x's trailing dims: x seen as [1, leading elements, trailing elements].
template <class T>
Layout trailing_layout(const char* op, const Tensor<T>& x, const std::vector<std::int64_t>& normalized_shape) {
    check_defined(op, "x", x);
    const std::size_t k = normalized_shape.size(), nd = x.ndim();
    bool match = k >= 1 && k <= nd;
    for (std::size_t i = 0; match && i < k; ++i) {
        match = normalized_shape[i] >= 0 && static_cast<std::size_t>(normalized_shape[i]) == x.shape()[nd - k + i];
    }
    if (!match) {
        fail<ShapeError>("{}: normalized_shape [{}] is not the trailing dims of x, which has shape {}", op,
                         fmt::join(normalized_shape, ", "), shape_str(x.shape()));
    }
    Layout l;
    for (std::size_t i = 0; i < nd; ++i) (i < nd - k ? l.groups : l.inner) *= x.shape()[i];
    return l;
}

Shape as_shape(const std::vector<std::int64_t>& dims) {
    Shape s;
    for (auto d : dims) s.push_back(static_cast<std::size_t>(d));
    return s;
}

/// [C, 1, ..., 1]: a per-channel tensor against x [N, C, *].
Shape channel_shape(std::size_t channels, std::size_t ndim) {
    Shape s(ndim - 1, 1);
    s[0] = channels;
    return s;
}

/// The number of elements of x [N, C, *] per sample and channel: the product of *.
template <class T>
std::size_t spatial(const Tensor<T>& x) {
    std::size_t s = 1;
    for (std::size_t i = 2; i < x.ndim(); ++i) s *= x.shape()[i];
    return s;
}

template <class T>
void check_channels_first(const char* op, const Tensor<T>& x) {
    check_defined(op, "x", x);
    if (x.ndim() < 2) fail<ShapeError>("{}: x has shape {}; expected [N, C, *] (rank >= 2)", op, shape_str(x.shape()));
}

}  // namespace

template <class T>
Tensor<T> layer_norm(const Tensor<T>& x, const std::vector<std::int64_t>& normalized_shape, const Tensor<T>& weight,
                     const Tensor<T>& bias, double eps) {
    const Layout l = trailing_layout("layer_norm", x, normalized_shape);
    const Shape ns = as_shape(normalized_shape);
    check_param("layer_norm", "weight", weight, ns, x);
    check_param("layer_norm", "bias", bias, ns, x);
    check_eps("layer_norm", eps);
    const Tensor<T> xhat = standardize("layer_norm", reshaped(x, {1, l.groups, l.inner}), true, eps);
    return affine(reshaped(xhat, x.shape()), weight, bias, ns);
}

template <class T>
Tensor<T> rms_norm(const Tensor<T>& x, const std::vector<std::int64_t>& normalized_shape, const Tensor<T>& weight,
                   std::optional<double> eps) {
    const Layout l = trailing_layout("rms_norm", x, normalized_shape);
    const Shape ns = as_shape(normalized_shape);
    check_param("rms_norm", "weight", weight, ns, x);
    const double e = eps.value_or(std::numeric_limits<T>::epsilon());
    check_eps("rms_norm", e);
    const Tensor<T> xhat = standardize("rms_norm", reshaped(x, {1, l.groups, l.inner}), false, e);
    return affine(reshaped(xhat, x.shape()), weight, Tensor<T>{}, ns);
}

template <class T>
Tensor<T> group_norm(const Tensor<T>& x, std::int64_t num_groups, const Tensor<T>& weight, const Tensor<T>& bias,
                     double eps) {
    check_channels_first("group_norm", x);
    const std::size_t n = x.shape()[0], c = x.shape()[1];
    if (num_groups <= 0 || c % static_cast<std::size_t>(num_groups) != 0) {
        fail<ValueError>(
            "group_norm: num_groups = {} must be positive and divide the {} channels of x, which has shape {}",
            num_groups, c, shape_str(x.shape()));
    }
    check_param("group_norm", "weight", weight, {c}, x);
    check_param("group_norm", "bias", bias, {c}, x);
    check_eps("group_norm", eps);
    const auto g = static_cast<std::size_t>(num_groups);
    const Tensor<T> xhat = standardize("group_norm", reshaped(x, {1, n * g, c / g * spatial(x)}), true, eps);
    return affine(reshaped(xhat, x.shape()), weight, bias, channel_shape(c, x.ndim()));
}

template <class T>
Tensor<T> batch_norm(const Tensor<T>& x, const Tensor<T>& running_mean, const Tensor<T>& running_var,
                     const Tensor<T>& weight, const Tensor<T>& bias, bool training, double momentum, double eps) {
    check_channels_first("batch_norm", x);
    const std::size_t n = x.shape()[0], c = x.shape()[1];
    check_param("batch_norm", "running_mean", running_mean, {c}, x);
    check_param("batch_norm", "running_var", running_var, {c}, x);
    check_param("batch_norm", "weight", weight, {c}, x);
    check_param("batch_norm", "bias", bias, {c}, x);
    check_eps("batch_norm", eps);
    if (running_mean.defined() != running_var.defined() || (!training && !running_mean.defined())) {
        fail<ValueError>(
            "batch_norm: running_mean and running_var must both be given (in eval, where they are used) "
            "or both be undefined; x has shape {}",
            shape_str(x.shape()));
    }
    const Shape per_channel = channel_shape(c, x.ndim());
    if (!training) {
        const Tensor<T> xhat =
            (x - reshaped(running_mean, per_channel)) * rsqrt(reshaped(running_var, per_channel) + static_cast<T>(eps));
        return affine(xhat, weight, bias, per_channel);
    }
    const Layout l{n, c, spatial(x)};
    if (l.count() == 1) {
        fail<ValueError>("batch_norm: expected more than 1 value per channel when training; x has shape {}",
                         shape_str(x.shape()));
    }
    Moments<T> stats;
    const Tensor<T> xhat = standardize("batch_norm", reshaped(x, {l.outer, l.groups, l.inner}), true, eps, &stats);
    if (running_mean.defined() && l.count() > 0) {
        // PyTorch's update: the unbiased variance, not recorded (the buffers are not part of the graph).
        NoGradGuard no_grad;
        xt::xarray<T> batch_mean = xt::xarray<T>::from_shape({c}), batch_var = xt::xarray<T>::from_shape({c});
        const double bessel = static_cast<double>(l.count()) / static_cast<double>(l.count() - 1);
        for (std::size_t b = 0; b < c; ++b) {
            batch_mean[b] = stats.shift[b] + stats.mean[b];
            batch_var[b] = static_cast<T>(stats.var[b] * bessel);
        }
        const auto m = static_cast<T>(momentum);
        Tensor<T>(running_mean).mul_(T(1) - m).add_(Tensor<T>(std::move(batch_mean)), m);
        Tensor<T>(running_var).mul_(T(1) - m).add_(Tensor<T>(std::move(batch_var)), m);
    }
    return affine(reshaped(xhat, x.shape()), weight, bias, per_channel);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                \
    template Tensor<T> layer_norm(const Tensor<T>&, const std::vector<std::int64_t>&, const Tensor<T>&,        \
                                  const Tensor<T>&, double);                                                   \
    template Tensor<T> rms_norm(const Tensor<T>&, const std::vector<std::int64_t>&, const Tensor<T>&,          \
                                std::optional<double>);                                                        \
    template Tensor<T> group_norm(const Tensor<T>&, std::int64_t, const Tensor<T>&, const Tensor<T>&, double); \
    template Tensor<T> batch_norm(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, const Tensor<T>&,      \
                                  const Tensor<T>&, bool, double, double);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
