/// \file
/// Tensor factories, as torch::zeros/ones/full/arange/rand/randn (the default dtype is float32),
/// and the Indices factories randint, randperm and one_hot.
#pragma once

#include <cstdint>
#include <optional>
#include <type_traits>

#include <tapegrad/autograd/plain_tensor.hpp>
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
/// rand() from the default generator (see manual_seed()).
template <class T = float>
Tensor<T> rand(const Shape& shape, T low = 0, T high = 1, bool requires_grad = false);
/// randn() from the default generator (see manual_seed()).
template <class T = float>
Tensor<T> randn(const Shape& shape, T mean = 0, T stddev = 1, bool requires_grad = false);

/// `steps` values from start to end inclusive, evenly spaced (torch::linspace; the second half is
/// computed from the end, as PyTorch does, so the last value is exactly `end`). ValueError for
/// negative steps or a non-finite bound.
template <class T = float>
Tensor<T> linspace(T start, T end, std::int64_t steps, bool requires_grad = false);
/// The n x m identity (torch::eye): ones on the main diagonal; m defaults to n.
template <class T = float>
Tensor<T> eye(std::size_t n, std::optional<std::size_t> m = std::nullopt, bool requires_grad = false);
/// 1 with probability p, else 0, per element of p (torch::bernoulli), drawn from `gen`; not
/// differentiable (as in PyTorch). ValueError naming the element when a p is not in [0, 1].
template <class T>
Tensor<T> bernoulli(const Tensor<T>& p, Generator& gen);
/// bernoulli() from the default generator.
template <class T>
Tensor<T> bernoulli(const Tensor<T>& p);

/// Integers uniform in [low, high), high excluded (torch::randint), drawn from `gen`: Indices of
/// `shape`. ValueError unless low < high.
Indices randint(std::int64_t low, std::int64_t high, const Shape& shape, Generator& gen);
/// randint() from the default generator.
Indices randint(std::int64_t low, std::int64_t high, const Shape& shape);
/// Integers uniform in [0, high) (torch::randint(high, size)), drawn from `gen`.
Indices randint(std::int64_t high, const Shape& shape, Generator& gen);
/// randint(high, shape) from the default generator.
Indices randint(std::int64_t high, const Shape& shape);
/// A random permutation of 0..n-1 (torch::randperm), drawn from `gen` (Fisher-Yates): 1-d Indices.
/// ValueError for a negative n.
Indices randperm(std::int64_t n, Generator& gen);
/// randperm() from the default generator.
Indices randperm(std::int64_t n);

/// One-hot encoding (torch::nn::functional::one_hot): Indices of idx's shape plus a trailing dim
/// of num_classes, 1 at each value's class and 0 elsewhere (int64, as PyTorch; `.to<float>()` for
/// a float tensor). num_classes -1 infers max + 1. A class below 0 or not below num_classes is an
/// IndexError naming one_hot, the class and num_classes (negative classes are not counted from the
/// end); num_classes below -1, or -1 with an empty idx, is a ValueError.
Indices one_hot(const Indices& idx, std::int64_t num_classes = -1);

/// Zeros of x's shape and dtype (torch::zeros_like), a leaf.
template <class T>
Tensor<T> zeros_like(const Tensor<T>& x, bool requires_grad = false) {
    return zeros<T>(x.shape(), requires_grad);
}
/// Ones of x's shape and dtype (torch::ones_like), a leaf.
template <class T>
Tensor<T> ones_like(const Tensor<T>& x, bool requires_grad = false) {
    return ones<T>(x.shape(), requires_grad);
}
/// `value` in x's shape and dtype (torch::full_like), a leaf.
template <class T>
Tensor<T> full_like(const Tensor<T>& x, std::type_identity_t<T> value, bool requires_grad = false) {
    return full<T>(x.shape(), value, requires_grad);
}
/// Uniform in [0, 1) in x's shape and dtype (torch::rand_like), from `gen`.
template <class T>
Tensor<T> rand_like(const Tensor<T>& x, Generator& gen, bool requires_grad = false) {
    return rand<T>(x.shape(), gen, T(0), T(1), requires_grad);
}
/// rand_like() from the default generator.
template <class T>
Tensor<T> rand_like(const Tensor<T>& x, bool requires_grad = false) {
    return rand<T>(x.shape(), T(0), T(1), requires_grad);
}
/// Standard normal in x's shape and dtype (torch::randn_like), from `gen`.
template <class T>
Tensor<T> randn_like(const Tensor<T>& x, Generator& gen, bool requires_grad = false) {
    return randn<T>(x.shape(), gen, T(0), T(1), requires_grad);
}
/// randn_like() from the default generator.
template <class T>
Tensor<T> randn_like(const Tensor<T>& x, bool requires_grad = false) {
    return randn<T>(x.shape(), T(0), T(1), requires_grad);
}

}  // namespace tapegrad
