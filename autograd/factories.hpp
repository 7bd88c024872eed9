// Tensor factories, as torch::zeros/ones/full/arange/rand/randn. The default dtype is float32.
#pragma once

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

template <class T = float>
Tensor<T> zeros(const Shape& shape, bool requires_grad = false);
template <class T = float>
Tensor<T> ones(const Shape& shape, bool requires_grad = false);
template <class T = float>
Tensor<T> full(const Shape& shape, T value, bool requires_grad = false);
/// start, start + step, ... up to but excluding stop (a 1-d tensor); step must not be 0.
template <class T = float>
Tensor<T> arange(T start, T stop, T step = 1, bool requires_grad = false);
/// Uniform in [low, high); ValueError unless low <= high with high - low finite.
template <class T = float>
Tensor<T> rand(const Shape& shape, Generator& gen, T low = 0, T high = 1, bool requires_grad = false);
/// Normal with the given mean and standard deviation.
template <class T = float>
Tensor<T> randn(const Shape& shape, Generator& gen, T mean = 0, T stddev = 1, bool requires_grad = false);
/// Same shape and dtype as x.
template <class T>
Tensor<T> zeros_like(const Tensor<T>& x) {
    return zeros<T>(x.shape());
}
template <class T>
Tensor<T> ones_like(const Tensor<T>& x) {
    return ones<T>(x.shape());
}

}  // namespace tapegrad
