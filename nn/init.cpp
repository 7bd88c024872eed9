#include <tapegrad/nn/init.hpp>

#include <cmath>

#include <tapegrad/autograd/grad_mode.hpp>

namespace tapegrad::nn::init {

double calculate_gain(Nonlinearity nonlinearity, double param) {
    switch (nonlinearity) {
        case Nonlinearity::Linear:
        case Nonlinearity::Sigmoid:
            return 1.0;
        case Nonlinearity::Tanh:
            return 5.0 / 3.0;
        case Nonlinearity::ReLU:
            return std::sqrt(2.0);
        case Nonlinearity::LeakyReLU:
            return std::sqrt(2.0 / (1.0 + param * param));
    }
    fail<ValueError>("calculate_gain: unknown nonlinearity {}", static_cast<int>(nonlinearity));
}

std::pair<std::size_t, std::size_t> fan_in_and_fan_out(const Shape& shape) {
    if (shape.size() < 2) {
        fail<ValueError>("fan_in_and_fan_out: a tensor of shape {} has no fans; it needs at least 2 dimensions",
                         shape_str(shape));
    }
    std::size_t receptive = 1;
    for (std::size_t i = 2; i < shape.size(); ++i) receptive *= shape[i];
    return {shape[1] * receptive, shape[0] * receptive};
}

namespace {

template <class T>
void check_defined(const char* fn, const Tensor<T>& t) {
    if (!t.defined()) fail<ValueError>("{}: the tensor is undefined", fn);
}

// Fills t in row-major order with draw(), under NoGradGuard.
template <class T, class Draw>
Tensor<T> fill_with(Tensor<T>& t, Draw draw) {
    NoGradGuard no_grad;
    for (auto& v : t.mutable_value()) v = static_cast<T>(draw());
    return t;
}

std::size_t fan(const char* fn, const Shape& shape, FanMode mode) {
    auto [fan_in, fan_out] = fan_in_and_fan_out(shape);
    const std::size_t f = mode == FanMode::FanIn ? fan_in : fan_out;
    if (f == 0) fail<ValueError>("{}: a tensor of shape {} has fan 0", fn, shape_str(shape));
    return f;
}

}  // namespace

template <class T>
Tensor<T> uniform_(Tensor<T> t, Generator& gen, double low, double high) {
    check_defined("uniform_", t);
    if (!(low <= high) || !std::isfinite(high - low))
        fail<ValueError>("uniform_: low is {} and high is {}; it needs low <= high, both finite", low, high);
    return fill_with(t, [&] { return gen.uniform(low, high); });
}

template <class T>
Tensor<T> normal_(Tensor<T> t, Generator& gen, double mean, double stddev) {
    check_defined("normal_", t);
    if (!(stddev >= 0)) fail<ValueError>("normal_: stddev {} must be non-negative", stddev);
    return fill_with(t, [&] { return mean + stddev * gen.normal(); });
}

template <class T>
Tensor<T> constant_(Tensor<T> t, double value) {
    check_defined("constant_", t);
    return fill_with(t, [value] { return value; });
}

template <class T>
Tensor<T> zeros_(Tensor<T> t) {
    return constant_(std::move(t), 0.0);
}

template <class T>
Tensor<T> ones_(Tensor<T> t) {
    return constant_(std::move(t), 1.0);
}

template <class T>
Tensor<T> xavier_uniform_(Tensor<T> t, Generator& gen, double gain) {
    check_defined("xavier_uniform_", t);
    auto [fan_in, fan_out] = fan_in_and_fan_out(t.shape());
    const double a = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
    return uniform_(std::move(t), gen, -a, a);
}

template <class T>
Tensor<T> xavier_normal_(Tensor<T> t, Generator& gen, double gain) {
    check_defined("xavier_normal_", t);
    auto [fan_in, fan_out] = fan_in_and_fan_out(t.shape());
    const double stddev = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
    return normal_(std::move(t), gen, 0.0, stddev);
}

template <class T>
Tensor<T> kaiming_uniform_(Tensor<T> t, Generator& gen, double a, FanMode mode, Nonlinearity nonlinearity) {
    check_defined("kaiming_uniform_", t);
    const double bound = calculate_gain(nonlinearity, a) * std::sqrt(3.0 / fan("kaiming_uniform_", t.shape(), mode));
    return uniform_(std::move(t), gen, -bound, bound);
}

template <class T>
Tensor<T> kaiming_normal_(Tensor<T> t, Generator& gen, double a, FanMode mode, Nonlinearity nonlinearity) {
    check_defined("kaiming_normal_", t);
    const double stddev = calculate_gain(nonlinearity, a) / std::sqrt(fan("kaiming_normal_", t.shape(), mode));
    return normal_(std::move(t), gen, 0.0, stddev);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                \
    template Tensor<T> uniform_(Tensor<T>, Generator&, double, double);                        \
    template Tensor<T> normal_(Tensor<T>, Generator&, double, double);                         \
    template Tensor<T> constant_(Tensor<T>, double);                                           \
    template Tensor<T> zeros_(Tensor<T>);                                                      \
    template Tensor<T> ones_(Tensor<T>);                                                       \
    template Tensor<T> xavier_uniform_(Tensor<T>, Generator&, double);                         \
    template Tensor<T> xavier_normal_(Tensor<T>, Generator&, double);                          \
    template Tensor<T> kaiming_uniform_(Tensor<T>, Generator&, double, FanMode, Nonlinearity); \
    template Tensor<T> kaiming_normal_(Tensor<T>, Generator&, double, FanMode, Nonlinearity);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::nn::init
