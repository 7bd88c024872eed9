/// \file
/// Dropout (torch::nn::functional::dropout, dropout1d, dropout2d): in training, each element (or
/// each whole channel) is zeroed with probability p and the survivors are scaled by 1 / (1 - p)
/// (inverted dropout), so the expected value is x and evaluation needs no rescaling.
///
/// The mask is drawn from the Generator passed, or from the default one (see manual_seed()):
/// element (or channel) k, in row-major order, is kept when the k-th `uniform()` drawn is >= p, so
/// the same generator state gives the same mask on every platform. p = 0 and p = 1 draw nothing.
/// The mask is a constant of the forward: the backward is the incoming gradient times the same
/// scaled mask, a recorded mul, so gradients of gradients work. Not training, each returns x itself
/// and records nothing (PyTorch's F.dropout(x, training=False) returns its input too).
#pragma once

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// y = x * m / (1 - p), m_k = 1 with probability 1 - p, else 0, drawn from `gen`
/// (torch::nn::functional::dropout). p = 0 returns x (nothing drawn); p = 1 returns x * 0 (exact
/// zeros and a zero gradient, never 0 * inf; an infinite x gives NaN there, as PyTorch's x * 0).
/// training false returns x itself (p still checked).
///   d/dx = g * m / (1 - p)   (0 everywhere for p = 1)
/// Throws ValueError for p outside [0, 1] or NaN, naming dropout and p.
template <class T>
Tensor<T> dropout(const Tensor<T>& x, double p, bool training, Generator& gen);

/// dropout() drawing from the default generator (PyTorch's F.dropout(x, p, training)).
template <class T>
Tensor<T> dropout(const Tensor<T>& x, double p = 0.5, bool training = true);

/// Channel dropout for [N, C, H, W] inputs (torch::nn::functional::dropout2d): whole channels
/// x[n, c] are zeroed together with probability p, the kept ones scaled by 1 / (1 - p); one draw per
/// (n, c) in row-major order. A 3-d x is read as [N, C, L], as PyTorch 2.x's dropout2d does (it
/// warns that this will change; for an unbatched [C, H, W] use unsqueeze(x, 0) or dropout1d).
/// Other ranks are a ShapeError naming dropout2d and x's shape (PyTorch warns and still drops
/// dims 0 and 1; use dropout). p and training as dropout().
///   d/dx = g * m[n, c] / (1 - p)
template <class T>
Tensor<T> dropout2d(const Tensor<T>& x, double p, bool training, Generator& gen);

/// dropout2d() drawing from the default generator.
template <class T>
Tensor<T> dropout2d(const Tensor<T>& x, double p = 0.5, bool training = true);

/// Channel dropout for [N, C, L] inputs, or an unbatched [C, L]
/// (torch::nn::functional::dropout1d): whole channels zeroed with probability p, the kept ones
/// scaled by 1 / (1 - p). Other ranks are a ShapeError naming dropout1d and x's shape, as PyTorch's
/// error. p and training as dropout().   d/dx = g * m[n, c] / (1 - p)
template <class T>
Tensor<T> dropout1d(const Tensor<T>& x, double p, bool training, Generator& gen);

/// dropout1d() drawing from the default generator.
template <class T>
Tensor<T> dropout1d(const Tensor<T>& x, double p = 0.5, bool training = true);

}  // namespace tapegrad
