/// \file
/// Activation functions.
#pragma once

#include <type_traits>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// max(x, 0).      d/dx = grad where x > 0, else 0 (so 0 at exactly x = 0, as PyTorch)
///                 tangent: dy = dx where x > 0, else 0
template <class T>
Tensor<T> relu(const Tensor<T>& x);

/// x if x > 0 else slope x.    d/dx = grad where x > 0, else slope * grad
///                             tangent: dy = dx where x > 0, else slope dx
template <class T>
Tensor<T> leaky_relu(const Tensor<T>& x, std::type_identity_t<T> negative_slope = T(0.01));

/// 1 / (1 + e^-x), computed without overflow for any |x|.    d/dx = grad * y (1 - y)
///                 tangent: dy = y (1 - y) dx
template <class T>
Tensor<T> sigmoid(const Tensor<T>& x);

/// tanh(x).        d/dx = grad * (1 - y^2)
///                 tangent: dy = (1 - y^2) dx
template <class T>
Tensor<T> tanh(const Tensor<T>& x);

/// log(1 + e^(beta x)) / beta, computed as (max(beta x, 0) + log1p(e^-|beta x|)) / beta (finite for
/// any |x|), and x itself where beta x > threshold (torch.nn.functional.softplus(x, beta, threshold),
/// defaults 1 and 20; pass threshold = inf for the exact function everywhere). ValueError for a beta
/// of 0 or NaN, or a NaN threshold (PyTorch returns NaN or inf for beta = 0).
///   d/dx = g sigmoid(beta x) where beta x <= threshold, else g (PyTorch's)
///   tangent: dy = sigmoid(beta x) dx where beta x <= threshold, else dx
template <class T>
Tensor<T> softplus(const Tensor<T>& x, std::type_identity_t<T> beta = T(1), std::type_identity_t<T> threshold = T(20));

/// How gelu computes the normal CDF Phi (torch.nn.functional.gelu's `approximate`).
enum class GeluApproximate {
    None,  ///< "none": the exact Phi(x) = (1 + erf(x / sqrt 2)) / 2
    Tanh,  ///< "tanh": Phi(x) ~ (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2
};

/// x Phi(x) (torch.nn.functional.gelu(x, approximate)). GeluApproximate::None (default):
/// x/2 (1 + erf(x / sqrt 2)), one vectorised pass whose backward is an op of its own (the slope
/// below, differentiable again: its derivative is phi(x) (2 - x^2)).
/// GeluApproximate::Tanh: x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), composed from
/// tapegrad's ops, so its derivatives are theirs.
///   d/dx = g (Phi(x) + x phi(x))                                        (None)
///   d/dx = g (1 + tanh(u) + x (1 - tanh^2(u)) sqrt(2/pi) (1 + 3 * 0.044715 x^2)) / 2   (Tanh)
///   tangent: dy = (Phi(x) + x phi(x)) dx     (None; Tanh: composed, its ops' tangents)
template <class T>
Tensor<T> gelu(const Tensor<T>& x, GeluApproximate approximate = GeluApproximate::None);

/// x sigmoid(x), the swish (torch.nn.functional.silu), computed without overflow for any |x|.
///   d/dx = g s (1 + x (1 - s)), s = sigmoid(x)
///   tangent: dy = s (1 + x (1 - s)) dx
template <class T>
Tensor<T> silu(const Tensor<T>& x);

/// x tanh(softplus(x)) (torch.nn.functional.mish), softplus computed stably.
///   d/dx = g (t + x sigmoid(x) (1 - t^2)), t = tanh(softplus(x))
///   tangent: dy = (t + x sigmoid(x) (1 - t^2)) dx
template <class T>
Tensor<T> mish(const Tensor<T>& x);

/// x if x > 0, else alpha (e^x - 1) (torch.nn.functional.elu, alpha default 1); ValueError for a
/// NaN alpha.
///   d/dx = g where x > 0, else g alpha e^x = g (y + alpha)   (at x = 0 the second: alpha g, PyTorch's)
///   tangent: dy = dx where x > 0, else (y + alpha) dx
template <class T>
Tensor<T> elu(const Tensor<T>& x, std::type_identity_t<T> alpha = T(1));

/// scale elu(x, alpha) with PyTorch's constants alpha = 1.6732632423543772848170429916717 and
/// scale = 1.0507009873554804934193349852946 (torch.nn.functional.selu).
///   d/dx = g scale where x > 0, else g scale alpha e^x = g (y + scale alpha)   (at x = 0 the second, PyTorch's)
///   tangent: dy = scale dx where x > 0, else (y + scale alpha) dx
template <class T>
Tensor<T> selu(const Tensor<T>& x);

/// x if x > 0, else alpha (e^(x/alpha) - 1) (torch.nn.functional.celu, alpha default 1);
/// ValueError for an alpha of 0 or NaN.
///   d/dx = g where x > 0, else g e^(x/alpha) = g (y / alpha + 1)   (at x = 0 the second: g, PyTorch's)
///   tangent: dy = dx where x > 0, else (y / alpha + 1) dx
template <class T>
Tensor<T> celu(const Tensor<T>& x, std::type_identity_t<T> alpha = T(1));

/// min(max(x, min_val), max_val) (torch.nn.functional.hardtanh, defaults -1 and 1); ValueError
/// unless min_val <= max_val. Unlike clamp's, its derivative is 0 at the two kinks (PyTorch's).
///   d/dx = g where min_val < x < max_val, else 0
///   tangent: dy = dx where min_val < x < max_val, else 0
template <class T>
Tensor<T> hardtanh(const Tensor<T>& x, std::type_identity_t<T> min_val = T(-1), std::type_identity_t<T> max_val = T(1));

/// relu6(x + 3) / 6 = min(max(x + 3, 0), 6) / 6 (torch.nn.functional.hardsigmoid).
///   d/dx = g / 6 where -3 < x < 3, else 0   (0 at the kinks, PyTorch's)
///   tangent: dy = dx / 6 where -3 < x < 3, else 0
template <class T>
Tensor<T> hardsigmoid(const Tensor<T>& x);

/// x relu6(x + 3) / 6 (torch.nn.functional.hardswish).
///   d/dx = 0 where x < -3, g (x/3 + 1/2) where -3 <= x <= 3, g where x > 3
///   (at the kinks the middle piece's values, -g/2 at x = -3 and 3g/2 at x = 3, as PyTorch's CUDA
///   and scalar CPU kernels; its vectorised CPU kernel gives g at x = 3)
///   tangent: dy = 0 where x < -3, (x/3 + 1/2) dx where -3 <= x <= 3, dx where x > 3
template <class T>
Tensor<T> hardswish(const Tensor<T>& x);

/// x / (1 + |x|) (torch.nn.functional.softsign).
///   d/dx = g / (1 + |x|)^2
///   tangent: dy = dx / (1 + |x|)^2
template <class T>
Tensor<T> softsign(const Tensor<T>& x);

/// log sigmoid(x) = -softplus(-x) = min(x, 0) - log1p(e^-|x|), finite for any |x|
/// (torch.nn.functional.logsigmoid).
///   d/dx = g sigmoid(-x) = g (1 - sigmoid(x))
///   tangent: dy = sigmoid(-x) dx
template <class T>
Tensor<T> logsigmoid(const Tensor<T>& x);

}  // namespace tapegrad
