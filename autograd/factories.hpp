/// \file
/// Tensor factories, as torch::zeros/ones/full/arange/rand/randn. The default dtype is float32.
#pragma once

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// A tensor of zeros (torch::zeros): `zeros<double>({2, 3})`; a leaf that requires grad when asked to.
/// Throws ValueError for a shape too large to index, ResourceError when memory runs out (as every
/// factory here).
template <class T = float>
Tensor<T> zeros(const Shape& shape, bool requires_grad = false);
/// A tensor of ones (torch::ones).
template <class T = float>
Tensor<T> ones(const Shape& shape, bool requires_grad = false);
/// A tensor with every element `value` (torch::full).
template <class T = float>
Tensor<T> full(const Shape& shape, T value, bool requires_grad = false);
/// start, start + step, ... up to but excluding stop (a 1-d tensor, torch::arange). ValueError
/// unless step is non-zero and all three are finite.
template <class T = float>
Tensor<T> arange(T start, T stop, T step = 1, bool requires_grad = false);
/// Uniform in [low, high) (torch::rand), drawn from `gen`; ValueError unless low <= high with
/// high - low finite.
template <class T = float>
Tensor<T> rand(const Shape& shape, Generator& gen, T low = 0, T high = 1, bool requires_grad = false);
/// Normal with the given mean and standard deviation (torch::randn), drawn from `gen`; ValueError
/// for a negative stddev.
template <class T = float>
Tensor<T> randn(const Shape& shape, Generator& gen, T mean = 0, T stddev = 1, bool requires_grad = false);
/// Zeros of x's shape and dtype (torch::zeros_like), a leaf that does not require grad.
template <class T>
Tensor<T> zeros_like(const Tensor<T>& x) {
    return zeros<T>(x.shape());
}
/// Ones of x's shape and dtype (torch::ones_like), a leaf that does not require grad.
template <class T>
Tensor<T> ones_like(const Tensor<T>& x) {
    return ones<T>(x.shape());
}

}  // namespace tapegrad
