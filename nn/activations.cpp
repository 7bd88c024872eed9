#include <tapegrad/nn/activations.hpp>

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/softmax.hpp>

namespace tapegrad::nn {

template <class T>
Tensor<T> ReLU<T>::forward(const Tensor<T>& x) {
    return relu(x);
}

template <class T>
Tensor<T> LeakyReLU<T>::forward(const Tensor<T>& x) {
    return leaky_relu(x, static_cast<T>(slope_));
}

template <class T>
std::string LeakyReLU<T>::extra_repr() const {
    return fmt::format("negative_slope={}", slope_);
}

template <class T>
Tensor<T> Sigmoid<T>::forward(const Tensor<T>& x) {
    return sigmoid(x);
}

template <class T>
Tensor<T> Tanh<T>::forward(const Tensor<T>& x) {
    return tanh(x);
}

template <class T>
Tensor<T> GELU<T>::forward(const Tensor<T>& x) {
    return gelu(x, approximate_);
}

template <class T>
std::string GELU<T>::extra_repr() const {
    return approximate_ == GeluApproximate::Tanh ? "approximate='tanh'" : "";
}

template <class T>
Tensor<T> Softmax<T>::forward(const Tensor<T>& x) {
    return softmax(x, dim_);
}

template <class T>
std::string Softmax<T>::extra_repr() const {
    return fmt::format("dim={}", dim_);
}

template <class T>
Tensor<T> LogSoftmax<T>::forward(const Tensor<T>& x) {
    return log_softmax(x, dim_);
}

template <class T>
std::string LogSoftmax<T>::extra_repr() const {
    return fmt::format("dim={}", dim_);
}

template <class T>
std::shared_ptr<Module<T>> make_activation(Activation activation) {
    switch (activation) {
        case Activation::ReLU:
            return std::make_shared<ReLU<T>>();
        case Activation::LeakyReLU:
            return std::make_shared<LeakyReLU<T>>();
        case Activation::Sigmoid:
            return std::make_shared<Sigmoid<T>>();
        case Activation::Tanh:
            return std::make_shared<Tanh<T>>();
        case Activation::GELU:
            return std::make_shared<GELU<T>>();
    }
    fail<ValueError>("make_activation: unknown activation {}", static_cast<int>(activation));
}

namespace {
constexpr Activation all_activations[] = {Activation::ReLU, Activation::LeakyReLU, Activation::Sigmoid,
                                          Activation::Tanh, Activation::GELU};
}  // namespace

std::string activation_name(Activation activation) {
    switch (activation) {
        case Activation::ReLU:
            return "relu";
        case Activation::LeakyReLU:
            return "leaky_relu";
        case Activation::Sigmoid:
            return "sigmoid";
        case Activation::Tanh:
            return "tanh";
        case Activation::GELU:
            return "gelu";
    }
    fail<ValueError>("activation_name: unknown activation {}", static_cast<int>(activation));
}

Activation parse_activation(const std::string& name) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    std::vector<std::string> names;
    for (Activation a : all_activations) {
        if (activation_name(a) == lower) return a;
        names.push_back(activation_name(a));
    }
    fail<ValueError>("parse_activation: unknown activation '{}'; expected one of {}", name, fmt::join(names, ", "));
}

#define TAPEGRAD_INSTANTIATE(T)   \
    template class ReLU<T>;       \
    template class LeakyReLU<T>;  \
    template class Sigmoid<T>;    \
    template class Tanh<T>;       \
    template class GELU<T>;       \
    template class Softmax<T>;    \
    template class LogSoftmax<T>; \
    template std::shared_ptr<Module<T>> make_activation<T>(Activation);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::nn
