#include <tapegrad/autograd/factories.hpp>

#include <algorithm>
#include <cmath>

#include <xtensor/xbuilder.hpp>

namespace tapegrad {

namespace {

template <class T>
Tensor<T> filled(const char* op, const Shape& shape, T value, bool requires_grad) {
    xt::xarray<T> out = detail::take_buffer<T>(op, shape);  // throws for a shape too large to index
    out.fill(value);
    return Tensor<T>(std::move(out), requires_grad);
}

}  // namespace

template <class T>
Tensor<T> zeros(const Shape& shape, bool requires_grad) {
    return filled<T>("zeros", shape, T(0), requires_grad);
}

template <class T>
Tensor<T> ones(const Shape& shape, bool requires_grad) {
    return filled<T>("ones", shape, T(1), requires_grad);
}

template <class T>
Tensor<T> full(const Shape& shape, T value, bool requires_grad) {
    return filled<T>("full", shape, value, requires_grad);
}

template <class T>
Tensor<T> arange(T start, T stop, T step, bool requires_grad) {
    if (step == 0 || !std::isfinite(start) || !std::isfinite(stop) || !std::isfinite(step)) {
        fail<ValueError>("arange: start {}, stop {}, step {}: step must be non-zero and all finite", start, stop, step);
    }
    const double count = std::ceil((static_cast<double>(stop) - start) / step);
    const std::size_t n = count > 0 ? static_cast<std::size_t>(count) : 0;
    xt::xarray<T> out = detail::take_buffer<T>("arange", {n});
    for (std::size_t i = 0; i < n; ++i) out(i) = static_cast<T>(start + static_cast<double>(i) * step);
    return Tensor<T>(std::move(out), requires_grad);
}

template <class T>
Tensor<T> rand(const Shape& shape, Generator& gen, T low, T high, bool requires_grad) {
    if (!(low <= high) || !std::isfinite(static_cast<double>(high) - low))
        fail<ValueError>("rand: low is {} and high is {}; it needs low <= high, both finite", low, high);
    xt::xarray<T> out = detail::take_buffer<T>("rand", shape);
    for (auto& v : out) v = static_cast<T>(gen.uniform(low, high));
    return Tensor<T>(std::move(out), requires_grad);
}

template <class T>
Tensor<T> randn(const Shape& shape, Generator& gen, T mean, T stddev, bool requires_grad) {
    if (!(stddev >= 0)) fail<ValueError>("randn: stddev {} must be non-negative", stddev);
    xt::xarray<T> out = detail::take_buffer<T>("randn", shape);
    for (auto& v : out) v = static_cast<T>(mean + stddev * gen.normal());
    return Tensor<T>(std::move(out), requires_grad);
}

template <class T>
Tensor<T> rand(const Shape& shape, T low, T high, bool requires_grad) {
    return with_default_generator([&](Generator& gen) { return rand<T>(shape, gen, low, high, requires_grad); });
}

template <class T>
Tensor<T> randn(const Shape& shape, T mean, T stddev, bool requires_grad) {
    return with_default_generator([&](Generator& gen) { return randn<T>(shape, gen, mean, stddev, requires_grad); });
}

template <class T>
Tensor<T> linspace(T start, T end, std::int64_t steps, bool requires_grad) {
    if (steps < 0 || !std::isfinite(start) || !std::isfinite(end)) {
        fail<ValueError>("linspace: start {}, end {}, steps {}: steps must be >= 0 and both bounds finite", start, end,
                         steps);
    }
    const auto n = static_cast<std::size_t>(steps);
    xt::xarray<T> out = detail::take_buffer<T>("linspace", {n});
    const double step = n > 1 ? (static_cast<double>(end) - start) / static_cast<double>(n - 1) : 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        out(i) = static_cast<T>(i < n / 2 ? start + step * static_cast<double>(i)
                                          : end - step * static_cast<double>(n - 1 - i));
    }
    if (n == 1) out(0) = start;
    return Tensor<T>(std::move(out), requires_grad);
}

template <class T>
Tensor<T> eye(std::size_t n, std::optional<std::size_t> m, bool requires_grad) {
    const std::size_t cols = m.value_or(n);
    xt::xarray<T> out = detail::take_buffer<T>("eye", {n, cols});
    out.fill(T(0));
    for (std::size_t i = 0; i < std::min(n, cols); ++i) out(i, i) = T(1);
    return Tensor<T>(std::move(out), requires_grad);
}

template <class T>
Tensor<T> bernoulli(const Tensor<T>& p, Generator& gen) {
    if (!p.defined()) fail<ValueError>("bernoulli: p is undefined");
    const auto& v = p.value();
    for (std::size_t i = 0; i < v.size(); ++i) {
        const T q = v.data()[i];
        if (!(q >= T(0) && q <= T(1))) {
            fail<ValueError>("bernoulli: p (shape {}) must hold probabilities in [0, 1]; element {} is {}",
                             shape_str(p.shape()), i, q);
        }
    }
    xt::xarray<T> out = detail::take_buffer_like("bernoulli", v);
    for (std::size_t i = 0; i < v.size(); ++i) out.data()[i] = gen.uniform() < v.data()[i] ? T(1) : T(0);
    return Tensor<T>(std::move(out));
}

template <class T>
Tensor<T> bernoulli(const Tensor<T>& p) {
    return with_default_generator([&](Generator& gen) { return bernoulli<T>(p, gen); });
}

#define TAPEGRAD_INSTANTIATE(T)                                               \
    template Tensor<T> zeros<T>(const Shape&, bool);                          \
    template Tensor<T> ones<T>(const Shape&, bool);                           \
    template Tensor<T> full<T>(const Shape&, T, bool);                        \
    template Tensor<T> arange<T>(T, T, T, bool);                              \
    template Tensor<T> rand<T>(const Shape&, Generator&, T, T, bool);         \
    template Tensor<T> randn<T>(const Shape&, Generator&, T, T, bool);        \
    template Tensor<T> rand<T>(const Shape&, T, T, bool);                     \
    template Tensor<T> randn<T>(const Shape&, T, T, bool);                    \
    template Tensor<T> linspace<T>(T, T, std::int64_t, bool);                 \
    template Tensor<T> eye<T>(std::size_t, std::optional<std::size_t>, bool); \
    template Tensor<T> bernoulli<T>(const Tensor<T>&, Generator&);            \
    template Tensor<T> bernoulli<T>(const Tensor<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
