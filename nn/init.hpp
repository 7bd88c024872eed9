/// \file
/// Parameter initialisers (torch.nn.init). Each overwrites the tensor's values in place, without
/// recording anything, drawing from an explicit Generator: the same seed gives the same model
/// bit for bit. Each returns the tensor it filled.
///
/// \namespace tapegrad::nn::init
/// Parameter initialisers, as torch.nn.init: each fills a tensor in place from a seeded Generator.
#pragma once

#include <cstddef>
#include <utility>

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad::nn::init {

/// Which fan a kaiming initialiser preserves the variance of: the forward pass's (FanIn) or
/// the backward pass's (FanOut).
enum class FanMode { FanIn, FanOut };

/// The nonlinearity that follows the layer, for the recommended gain.
enum class Nonlinearity { Linear, Sigmoid, Tanh, ReLU, LeakyReLU };

/// PyTorch's calculate_gain: Linear and Sigmoid 1, Tanh 5/3, ReLU sqrt(2),
/// LeakyReLU sqrt(2 / (1 + slope^2)) with `param` the negative slope (default 0.01).
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);

/// (fan_in, fan_out) of a weight of shape out x in x k1 x k2 ...: in * k1 * k2 ... and
/// out * k1 * k2 ...; throws ValueError for fewer than 2 dimensions (as PyTorch).
std::pair<std::size_t, std::size_t> fan_in_and_fan_out(const Shape& shape);

/// Uniform in [low, high); ValueError unless low <= high with high - low finite.
template <class T>
Tensor<T> uniform_(Tensor<T> t, Generator& gen, double low = 0, double high = 1);
/// Normal with the given mean and standard deviation.
template <class T>
Tensor<T> normal_(Tensor<T> t, Generator& gen, double mean = 0, double stddev = 1);
/// Every element `value` (torch.nn.init.constant_).
template <class T>
Tensor<T> constant_(Tensor<T> t, double value);
/// Every element 0 (torch.nn.init.zeros_).
template <class T>
Tensor<T> zeros_(Tensor<T> t);
/// Every element 1 (torch.nn.init.ones_).
template <class T>
Tensor<T> ones_(Tensor<T> t);

/// Glorot: U(-a, a) with a = gain sqrt(6 / (fan_in + fan_out)).
template <class T>
Tensor<T> xavier_uniform_(Tensor<T> t, Generator& gen, double gain = 1);
/// Glorot: N(0, std^2) with std = gain sqrt(2 / (fan_in + fan_out)).
template <class T>
Tensor<T> xavier_normal_(Tensor<T> t, Generator& gen, double gain = 1);

/// He: U(-b, b) with b = gain sqrt(3 / fan), gain = calculate_gain(nonlinearity, a). The
/// defaults are PyTorch's (a = 0, FanIn, LeakyReLU, i.e. gain sqrt(2)); for ReLU layers pass
/// Nonlinearity::ReLU. Dense uses a = sqrt(5), which gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
template <class T>
Tensor<T> kaiming_uniform_(Tensor<T> t, Generator& gen, double a = 0, FanMode mode = FanMode::FanIn,
                           Nonlinearity nonlinearity = Nonlinearity::LeakyReLU);
/// He: N(0, std^2) with std = gain / sqrt(fan).
template <class T>
Tensor<T> kaiming_normal_(Tensor<T> t, Generator& gen, double a = 0, FanMode mode = FanMode::FanIn,
                          Nonlinearity nonlinearity = Nonlinearity::LeakyReLU);

}  // namespace tapegrad::nn::init
