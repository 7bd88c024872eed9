#include <tapegrad/ops/softmax.hpp>

#include <cmath>
#include <limits>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include <tapegrad/autograd/evaluate.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/autograd/reduce_kernel.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/ops/shape.hpp>

namespace tapegrad {

namespace {

/// x with each slice along the dim shifted by its maximum (kept with size 1 in `shift`), and
/// the sum of the exponentials of the shifted slice; every exponent is then <= 0, so nothing
/// overflows. An infinite maximum shifts by 0 instead (PyTorch's logsumexp rule), so a slice
/// of -inf keeps logsumexp = -inf and one holding +inf gives +inf, not NaN from inf - inf.
template <class T>
struct Shifted {
    detail::Scratch<T> shifted;  // x - shift
    detail::Scratch<T> shift;    // the maximum per slice, dim kept with size 1
    detail::Scratch<T> sum_exp;  // sum of e^shifted per slice, same shape as shift
};

template <class T>
Shifted<T> shift_by_max(const char* op, const Tensor<T>& x, std::size_t dim) {
    DimMask reduced(x.ndim(), false);
    reduced[dim] = true;
    detail::Scratch<T> m = reduce_dims<T>(op, x.value(), reduced, -std::numeric_limits<T>::infinity(), nan_max<T>);
    for (auto& v : *m) v = std::isinf(v) ? T(0) : v;
    detail::Scratch<T> shifted = detail::evaluate<T>(op, x.value() - *m);
    const detail::Scratch<T> e = detail::evaluate<T>(op, xt::exp(*shifted));
    detail::Scratch<T> s = reduce_dims<T>(op, *e, reduced, T(0), [](T acc, T v) { return acc + v; });
    return {std::move(shifted), std::move(m), std::move(s)};
}

template <class T>
std::size_t checked_dim(const char* op, const Tensor<T>& x, std::int64_t dim) {
    check_defined(op, "x", x);
    return normalize_dim(op, "x", dim, x.shape());
}

}  // namespace

template <class T>
Tensor<T> softmax(const Tensor<T>& x, std::int64_t dim) {
    const std::size_t d = checked_dim("softmax", x, dim);
    const Shifted<T> s = shift_by_max("softmax", x, d);
    xt::xarray<T> y = detail::evaluate<T>("softmax", xt::exp(*s.shifted) / *s.sum_exp);
    return record<T>("softmax", {x}, std::move(y), [d](const Backward<T>& ctx) -> Grads<T> {
        const auto& y_ = ctx.output();
        const auto& g = ctx.grad();
        return {mul(y_, g - sum(mul(g, y_), {static_cast<std::int64_t>(d)}, true))};
    });
}

template <class T>
Tensor<T> log_softmax(const Tensor<T>& x, std::int64_t dim) {
    const std::size_t d = checked_dim("log_softmax", x, dim);
    const Shifted<T> s = shift_by_max("log_softmax", x, d);
    xt::xarray<T> y = detail::evaluate<T>("log_softmax", *s.shifted - xt::log(*s.sum_exp));
    return record<T>("log_softmax", {x}, std::move(y), [d](const Backward<T>& ctx) -> Grads<T> {
        const auto sd = static_cast<std::int64_t>(d);
        const auto& g = ctx.grad();
        return {g - mul(softmax(ctx.input(0), sd), sum(g, {sd}, true))};
    });
}

template <class T>
Tensor<T> logsumexp(const Tensor<T>& x, std::int64_t dim, bool keepdim) {
    const std::size_t d = checked_dim("logsumexp", x, dim);
    const Shifted<T> s = shift_by_max("logsumexp", x, d);
    xt::xarray<T> out = detail::evaluate<T>("logsumexp", *s.shift + xt::log(*s.sum_exp));
    const Shape kept(out.shape().begin(), out.shape().end());
    if (!keepdim) {
        Shape dropped = kept;
        dropped.erase(dropped.begin() + static_cast<std::ptrdiff_t>(d));
        out.reshape(dropped);
    }
    return record<T>("logsumexp", {x}, std::move(out), [d, kept](const Backward<T>& ctx) -> Grads<T> {
        const Tensor<T> g = ctx.grad().shape() == kept ? ctx.grad() : reshape(ctx.grad(), kept);
        return {mul(g, softmax(ctx.input(0), static_cast<std::int64_t>(d)))};
    });
}

#define TAPEGRAD_INSTANTIATE(T)                                     \
    template Tensor<T> softmax(const Tensor<T>&, std::int64_t);     \
    template Tensor<T> log_softmax(const Tensor<T>&, std::int64_t); \
    template Tensor<T> logsumexp(const Tensor<T>&, std::int64_t, bool);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
