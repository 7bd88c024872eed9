#include <tapegrad/ops/arithmetic.hpp>

#include <tapegrad/autograd/evaluate.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/ops/check.hpp>

#include <xtensor/xnoalias.hpp>

namespace tapegrad {

namespace {

/// f(a, b) elementwise with broadcasting. Equal shapes and a one-element 0-d operand (the
/// scalar of `x * 2`) take a plain loop; other broadcasts go through xtensor, whose general
/// machinery costs about 100 ns per call on small tensors.
template <class T, class F>
xt::xarray<T> zip(const char* op, const Tensor<T>& a, const Tensor<T>& b, F f) {
    const Shape shape = check_broadcast(op, a, b);
    const auto& x = a.value();
    const auto& y = b.value();
    const bool same = a.shape() == b.shape();
    xt::xarray<T> out = detail::take_buffer<T>(op, shape);
    if (same || b.ndim() == 0 || a.ndim() == 0) {
        T* o = out.data();
        const T* p = x.data();
        const T* q = y.data();
        const std::size_t n = out.size();
        if (same) {
            for (std::size_t i = 0; i < n; ++i) o[i] = f(p[i], q[i]);
        } else if (b.ndim() == 0) {
            for (std::size_t i = 0; i < n; ++i) o[i] = f(p[i], q[0]);
        } else {
            for (std::size_t i = 0; i < n; ++i) o[i] = f(p[0], q[i]);
        }
        return out;
    }
    xt::noalias(out) = f(x, y);
    return out;
}

constexpr auto plus = [](const auto& x, const auto& y) { return x + y; };
constexpr auto minus = [](const auto& x, const auto& y) { return x - y; };
constexpr auto times = [](const auto& x, const auto& y) { return x * y; };
constexpr auto divide = [](const auto& x, const auto& y) { return x / y; };

}  // namespace

template <class T>
Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b) {
    return record<T>("add", {a, b}, zip("add", a, b, plus), [](const Backward<T>& ctx) -> Grads<T> {
        return {ctx.grad(), ctx.grad()};
    });
}

template <class T>
Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b) {
    return record<T>("sub", {a, b}, zip("sub", a, b, minus), [](const Backward<T>& ctx) -> Grads<T> {
        return {ctx.grad(), ctx.needs(1) ? neg(ctx.grad()) : Tensor<T>()};
    });
}

template <class T>
Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b) {
    return record<T>("mul", {a, b}, zip("mul", a, b, times), [](const Backward<T>& ctx) -> Grads<T> {
        return {ctx.needs(0) ? mul(ctx.grad(), ctx.input(1)) : Tensor<T>(),
                ctx.needs(1) ? mul(ctx.grad(), ctx.input(0)) : Tensor<T>()};
    });
}

template <class T>
Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b) {
    return record<T>("div", {a, b}, zip("div", a, b, divide), [](const Backward<T>& ctx) -> Grads<T> {
        const auto& g = ctx.grad();
        const auto& a_ = ctx.input(0);
        const auto& b_ = ctx.input(1);
        return {ctx.needs(0) ? div(g, b_) : Tensor<T>(),
                ctx.needs(1) ? neg(div(mul(g, a_), mul(b_, b_))) : Tensor<T>()};
    });
}

template <class T>
Tensor<T> neg(const Tensor<T>& x) {
    check_defined("neg", "x", x);
    return record<T>("neg", {x}, detail::evaluate<T>("neg", -x.value()),
                     [](const Backward<T>& ctx) -> Grads<T> { return {neg(ctx.grad())}; });
}

#define TAPEGRAD_INSTANTIATE(T)                                 \
    template Tensor<T> add(const Tensor<T>&, const Tensor<T>&); \
    template Tensor<T> sub(const Tensor<T>&, const Tensor<T>&); \
    template Tensor<T> mul(const Tensor<T>&, const Tensor<T>&); \
    template Tensor<T> div(const Tensor<T>&, const Tensor<T>&); \
    template Tensor<T> neg(const Tensor<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
