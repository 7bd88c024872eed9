#include <tapegrad/ops/statistics.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include <tapegrad/autograd/node.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/extrema.hpp>
#include <tapegrad/ops/map.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/ops/reduction.hpp>
#include <tapegrad/ops/shape.hpp>
#include <tapegrad/ops/simd.hpp>

namespace tapegrad {

// var, std and norm are computed on rows: x with the reduced dims moved last, one contiguous row
// per result element, so that each row is summed with vector loads.

namespace {

using detail::reduced_shape;
using simd::fold_sum;

/// x with its reduced dims moved last (a recorded permute, unless they are last already), seen as
/// `rows` rows of `len` elements.
template <class T>
struct Rows {
    Tensor<T> x;
    std::size_t rows = 1;
    std::size_t len = 1;
    Shape out;      // the kept dims: the shape of the per-row result
    Shape kept;     // out followed by a 1 per reduced dim: the per-row result as it broadcasts against x
    Dims trailing;  // the reduced dims' positions in the rows tensor: its last ones
};

template <class T>
Rows<T> as_rows(const Tensor<T>& x, const DimMask& reduced) {
    Rows<T> r;
    Dims order;
    for (std::size_t i = 0; i < reduced.size(); ++i) {
        if (reduced[i]) continue;
        order.push_back(static_cast<std::int64_t>(i));
        r.out.push_back(x.shape()[i]);
        r.rows *= x.shape()[i];
    }
    r.kept = r.out;
    for (std::size_t i = 0; i < reduced.size(); ++i) {
        if (!reduced[i]) continue;
        r.trailing.push_back(static_cast<std::int64_t>(order.size()));
        order.push_back(static_cast<std::int64_t>(i));
        r.kept.push_back(1);
        r.len *= x.shape()[i];
    }
    bool moved = false;
    for (std::size_t i = 0; i < order.size(); ++i) moved = moved || order[i] != static_cast<std::int64_t>(i);
    r.x = moved ? permute(x, order) : x;
    return r;
}

/// A per-row result (shape out) against the rows tensor: a 0-d one as it is (the scalar paths of
/// mul and div), any other with the reduced dims restored as 1s.
template <class T>
Tensor<T> against_rows(const Tensor<T>& t, const Shape& kept) {
    return t.ndim() == 0 || t.shape() == kept ? t : reshape(t, kept);
}

template <class T>
Tensor<T> reshaped(const Tensor<T>& t, const Shape& shape) {
    return t.shape() == shape ? t : reshape(t, shape);
}

/// Per row: the shift (its first element) and the mean of the shifted values, kept for the backward.
template <class T>
struct RowMoments {
    xt::xarray<T> shift;
    xt::xarray<T> mean;
};

/// Two-pass variance of each row of x (rows x len, len > 0) on values shifted by the row's first
/// element: the squared deviations are summed from a mean that is accurate, and a constant row
/// gives exactly 0.
template <class T>
xt::xarray<T> row_variance(const T* x, std::size_t rows, std::size_t len, double divisor, RowMoments<T>& m) {
    xt::xarray<T> out = detail::take_buffer<T>("var", {rows});
    m.shift = xt::xarray<T>::from_shape({rows});
    m.mean = xt::xarray<T>::from_shape({rows});
    for (std::size_t r = 0; r < rows; ++r) {
        const T* row = x + r * len;
        const T s = row[0];
        const T mean = static_cast<T>(fold_sum(row, len, [s](auto v) { return v - s; }) / static_cast<double>(len));
        const double ssd = fold_sum(row, len, [s, mean](auto v) {
            const auto d = (v - s) - mean;
            return d * d;
        });
        out.data()[r] = static_cast<T>(ssd / divisor);
        m.shift.data()[r] = s;
        m.mean.data()[r] = mean;
    }
    return out;
}

/// var's gradient with the saved moments, without recording (grad mode off: the backward of a pass
/// that does not build a graph): scale * g * (x - mean), one pass.
template <class T>
Tensor<T> variance_grad(const Tensor<T>& g, const Tensor<T>& x, const RowMoments<T>& m, std::size_t len, T scale) {
    xt::xarray<T> out = detail::take_buffer<T>("var", x.shape());
    const T* src = x.value().data();
    const T* gr = g.value().data();
    T* dst = out.data();
    for (std::size_t r = 0, rows = m.shift.size(); r < rows; ++r) {
        const T s = m.shift.data()[r], mean = m.mean.data()[r], c = scale * gr[r];
        const std::size_t at = r * len;
        for (std::size_t j = 0; j < len; ++j) dst[at + j] = c * ((src[at + j] - s) - mean);
    }
    return Tensor<T>(std::move(out));
}

/// var over the rows, shape r.out.
template <class T>
Tensor<T> variance_rows(const char* op, const Tensor<T>& x, const Rows<T>& r, std::int64_t correction) {
    const auto n = static_cast<std::int64_t>(r.len);
    if (n == 0 || n - correction <= 0) {
        fail<ValueError>(
            "{}: x has shape {}; correction {} leaves {} degrees of freedom from the {} elements each result reduces "
            "(expected at least 1)",
            op, shape_str(x.shape()), correction, n - correction, n);
    }
    const double divisor = static_cast<double>(n - correction);
    auto moments = std::make_shared<RowMoments<T>>();
    xt::xarray<T> out = row_variance(r.x.value().data(), r.rows, r.len, divisor, *moments);
    out.reshape(r.out);
    const T scale = static_cast<T>(2 / divisor);
    const auto centered = [trailing = r.trailing](const Tensor<T>& x_) {
        return x_ - tapegrad::mean(x_, trailing, true);
    };
    return record<T>(
        "var", {r.x}, std::move(out),
        [moments, scale, len = r.len, kept = r.kept, centered](const Backward<T>& ctx) -> Grads<T> {
            const Tensor<T>& x_ = ctx.input(0);
            if (!is_grad_enabled()) return {variance_grad(ctx.grad(), x_, *moments, len, scale)};
            // Recorded (create_graph): the same formula in ops, so it can be differentiated again.
            return {mul(centered(x_), against_rows(ctx.grad(), kept) * scale)};
        },
        [scale, trailing = r.trailing, centered](const Forward<T>& ctx) {
            // dv = scale sum((x - mean) dx) over each row.
            return tapegrad::sum(mul(centered(ctx.input(0)), ctx.tangent(0)), trailing) * scale;
        });
}

/// sqrt(v) whose derivative is 0 where v = 0 (PyTorch's std_backward), not 1 / 0.
///   d/dv = grad / (2 y), 0 where y = 0      tangent: dy = dv / (2 y), 0 where y = 0
template <class T>
Tensor<T> std_from_var(const Tensor<T>& v) {
    xt::xarray<T> out = detail::map("std", v, [](T e) { return std::sqrt(e); });
    // The derivative applied to g (a gradient or a tangent: the Jacobian is diagonal).
    constexpr auto chain = [](const Tensor<T>& g, const Tensor<T>& y) {
        const Tensor<T> zero = detail::mask("std", y, [](T e) { return e == 0; });
        return div(g * (T(1) - zero), (y + zero) * T(2));
    };
    return record<T>(
        "std", {v}, std::move(out),
        [chain](const Backward<T>& ctx) -> Grads<T> { return {chain(ctx.grad(), ctx.output())}; },
        [chain](const Forward<T>& ctx) { return chain(ctx.tangent(0), ctx.output()); });
}

template <class T>
Tensor<T> var_over(const char* op, const Tensor<T>& x, const DimMask& reduced, std::int64_t correction, bool keepdim,
                   bool root) {
    const Rows<T> r = as_rows(x, reduced);
    const Tensor<T> v = variance_rows(op, x, r, correction);
    return reshaped(root ? std_from_var(v) : v, reduced_shape(x.shape(), reduced, keepdim));
}

/// The p-norm of a row (finite p > 0). p = 1 and p = 2 sum directly; p = 2 falls back to the
/// scaled sum when a square overflowed or came near the subnormals (where it loses digits), and
/// every other p takes the scaled sum: the largest |x| factored out, so each power is at most 1.
template <class T>
T row_norm(const T* x, std::size_t n, double p) {
    using std::abs;
    if (p == 1) return static_cast<T>(fold_sum(x, n, [](auto v) { return abs(v); }));
    if (p == 2) {
        const double squares = fold_sum(x, n, [](auto v) { return v * v; });
        constexpr double smallest =
            static_cast<double>(std::numeric_limits<T>::min()) / static_cast<double>(std::numeric_limits<T>::epsilon());
        if (std::isfinite(squares) && squares >= smallest) return static_cast<T>(std::sqrt(squares));
    }
    T scale = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const T a = abs(x[i]);
        if (std::isnan(a)) return a;
        scale = std::max(scale, a);
    }
    if (scale == 0 || std::isinf(scale)) return scale;
    double powers = 0;
    if (p == 2) {
        powers = fold_sum(x, n, [scale](auto v) {
            const auto t = v / scale;
            return t * t;
        });
    } else {
        for (std::size_t i = 0; i < n; ++i) powers += std::pow(static_cast<double>(abs(x[i]) / scale), p);
    }
    return static_cast<T>(static_cast<double>(scale) * std::pow(powers, 1 / p));
}

/// norm for a finite p > 0, over the rows, shape r.out.
///   d/dx = g sign(x) (|x| / y)^(p-1)  (p = 2: g x / y; p = 1: g sign(x)); 0 where y = 0 or x = 0
template <class T>
Tensor<T> norm_rows(const Rows<T>& r, double p) {
    xt::xarray<T> out = detail::take_buffer<T>("norm", r.out);
    const T* x = r.x.value().data();
    for (std::size_t k = 0; k < r.rows; ++k) out.data()[k] = row_norm(x + k * r.len, r.len, p);
    // y = 0 only where the whole slice is 0: divide by 1 there, which gives x / 1 = 0.
    constexpr auto y_safe = [](const Tensor<T>& y) { return y + detail::mask("norm", y, [](T e) { return e == 0; }); };
    // dy / dx for p other than 2 (whose rules divide by y_safe once, after the product or sum).
    const auto slope = [p, y_safe, kept = r.kept](const Tensor<T>& x_, const Tensor<T>& y) {
        if (p == 1) return sign(x_);
        // |x| / y <= 1, so its power cannot overflow; where x = 0, 1 / y instead, which sign(0) = 0
        // then zeroes (PyTorch's mask for p < 1, where 0^(p-1) is infinite).
        const Tensor<T> ratio =
            div(abs(x_) + detail::mask("norm", x_, [](T e) { return e == 0; }), against_rows(y_safe(y), kept));
        return sign(x_) * pow(ratio, static_cast<T>(p - 1));
    };
    return record<T>(
        "norm", {r.x}, std::move(out),
        [p, kept = r.kept, y_safe, slope](const Backward<T>& ctx) -> Grads<T> {
            const Tensor<T>& x_ = ctx.input(0);
            const Tensor<T> g = against_rows(ctx.grad(), kept);
            if (p == 2) return {mul(x_, div(g, against_rows(y_safe(ctx.output()), kept)))};
            return {mul(slope(x_, ctx.output()), g)};
        },
        [p, trailing = r.trailing, y_safe, slope](const Forward<T>& ctx) {
            // dy = sum(slope dx) over each row; p = 2: sum(x dx) / y.
            const Tensor<T>& x_ = ctx.input(0);
            if (p == 2) return div(tapegrad::sum(mul(x_, ctx.tangent(0)), trailing), y_safe(ctx.output()));
            return tapegrad::sum(mul(slope(x_, ctx.output()), ctx.tangent(0)), trailing);
        });
}

template <class T>
Tensor<T> norm_over(const Tensor<T>& x, double p, const DimMask& reduced, bool keepdim) {
    if (std::isnan(p) || (p <= 0 && p != -std::numeric_limits<double>::infinity())) {
        fail<ValueError>("norm: p = {} is not supported (expected p > 0, inf or -inf)", p);
    }
    if (std::isinf(p)) {
        // max |x| (min |x|): amax's gradient, split among ties, times abs's sign(x).
        Dims dims;
        for (std::size_t i = 0; i < reduced.size(); ++i) {
            if (!reduced[i]) continue;
            if (x.shape()[i] == 0) {
                fail<ValueError>("norm: x has shape {}; the p = {} norm over dim {} of size 0 has no element to take",
                                 shape_str(x.shape()), p, i);
            }
            dims.push_back(static_cast<std::int64_t>(i));
        }
        const Tensor<T> a = abs(x);
        return p > 0 ? tapegrad::amax(a, dims, keepdim) : tapegrad::amin(a, dims, keepdim);
    }
    const Rows<T> r = as_rows(x, reduced);
    return reshaped(norm_rows(r, p), reduced_shape(x.shape(), reduced, keepdim));
}

}  // namespace

template <class T>
Tensor<T> var(const Tensor<T>& x) {
    return var_over("var", x, detail::all_dims("var", x), 1, false, false);
}

template <class T>
Tensor<T> var(const Tensor<T>& x, const Dims& dims, std::int64_t correction, bool keepdim) {
    return var_over("var", x, detail::reduced_dims("var", x, dims), correction, keepdim, false);
}

template <class T>
Tensor<T> std(const Tensor<T>& x) {
    return var_over("std", x, detail::all_dims("std", x), 1, false, true);
}

template <class T>
Tensor<T> std(const Tensor<T>& x, const Dims& dims, std::int64_t correction, bool keepdim) {
    return var_over("std", x, detail::reduced_dims("std", x, dims), correction, keepdim, true);
}

template <class T>
Tensor<T> norm(const Tensor<T>& x, double p) {
    return norm_over(x, p, detail::all_dims("norm", x), false);
}

template <class T>
Tensor<T> norm(const Tensor<T>& x, double p, const Dims& dims, bool keepdim) {
    return norm_over(x, p, detail::reduced_dims("norm", x, dims), keepdim);
}

template <class T>
Tensor<T> norm(const Tensor<T>& x, std::string_view ord, const Dims& dims, bool keepdim) {
    if (ord != "fro") fail<ValueError>("norm: ord \"{}\" is not supported (expected \"fro\" or a number p)", ord);
    return norm(x, 2.0, dims, keepdim);
}

#define TAPEGRAD_INSTANTIATE(T)                                                \
    template Tensor<T> var(const Tensor<T>&);                                  \
    template Tensor<T> var(const Tensor<T>&, const Dims&, std::int64_t, bool); \
    template Tensor<T> std(const Tensor<T>&);                                  \
    template Tensor<T> std(const Tensor<T>&, const Dims&, std::int64_t, bool); \
    template Tensor<T> norm(const Tensor<T>&, double);                         \
    template Tensor<T> norm(const Tensor<T>&, double, const Dims&, bool);      \
    template Tensor<T> norm(const Tensor<T>&, std::string_view, const Dims&, bool);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
