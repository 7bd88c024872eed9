#include <tapegrad/autograd/factories.hpp>

#include <algorithm>
#include <cmath>
#include <utility>

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

Indices randint(std::int64_t low, std::int64_t high, const Shape& shape, Generator& gen) {
    if (low >= high)
        fail<ValueError>("randint: low is {} and high is {}; it needs low < high (high is excluded)", low, high);
    // high - low as unsigned: exact for any low < high, even when it exceeds INT64_MAX.
    const std::uint64_t range = static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low);
    Indices out = Indices::full(shape, 0);
    for (auto& v : out.mutable_value())
        v = static_cast<std::int64_t>(static_cast<std::uint64_t>(low) + gen.below(range));
    return out;
}

Indices randint(std::int64_t low, std::int64_t high, const Shape& shape) {
    return with_default_generator([&](Generator& gen) { return randint(low, high, shape, gen); });
}

Indices randint(std::int64_t high, const Shape& shape, Generator& gen) {
    return randint(0, high, shape, gen);
}

Indices randint(std::int64_t high, const Shape& shape) {
    return randint(0, high, shape);
}

Indices randperm(std::int64_t n, Generator& gen) {
    if (n < 0) fail<ValueError>("randperm: n is {}; it must be non-negative", n);
    Indices out = Indices::full({static_cast<std::size_t>(n)}, 0);
    for (std::size_t i = 0; i < out.numel(); ++i) out[i] = static_cast<std::int64_t>(i);
    for (std::size_t i = out.numel(); i > 1; --i) std::swap(out[i - 1], out[gen.below(i)]);
    return out;
}

Indices randperm(std::int64_t n) {
    return with_default_generator([&](Generator& gen) { return randperm(n, gen); });
}

Indices one_hot(const Indices& idx, std::int64_t num_classes) {
    if (num_classes < -1)
        fail<ValueError>("one_hot: num_classes is {}; expected -1 (inferred) or at least 0", num_classes);
    if (num_classes == -1 && idx.numel() == 0) {
        fail<ValueError>("one_hot: index has shape {} and no values, so num_classes -1 cannot be inferred",
                         shape_str(idx.shape()));
    }
    const std::int64_t classes = num_classes == -1 ? *std::max_element(idx.begin(), idx.end()) + 1 : num_classes;
    for (std::size_t i = 0; i < idx.numel(); ++i) {
        if (idx[i] < 0 || idx[i] >= classes) {
            fail<IndexError>("one_hot: class {} (element {} of index, shape {}) is out of range for {} classes{}",
                             idx[i], i, shape_str(idx.shape()), std::max<std::int64_t>(classes, 0),
                             idx[i] < 0 ? " (classes are never negative: not counted from the end)" : "");
        }
    }
    const auto width = static_cast<std::size_t>(classes);
    Shape shape = idx.shape();
    shape.push_back(width);
    Indices out = Indices::full(shape, 0);
    for (std::size_t i = 0; i < idx.numel(); ++i) out[i * width + static_cast<std::size_t>(idx[i])] = 1;
    return out;
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
