/// \file
/// Elementwise math functions.
#pragma once

#include <limits>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// e^x.            d/dx = grad * e^x
///                 tangent: dy = y dx
template <class T>
Tensor<T> exp(const Tensor<T>& x);

/// Natural log.    d/dx = grad / x      (log(0) = -inf and log(x < 0) = NaN, as in IEEE)
///                 tangent: dy = dx / x
template <class T>
Tensor<T> log(const Tensor<T>& x);

/// Square root.    d/dx = grad / (2 sqrt(x))
///                 tangent: dy = dx / (2 y)
template <class T>
Tensor<T> sqrt(const Tensor<T>& x);

/// x^p for a scalar exponent p.    d/dx = grad * p * x^(p-1);  d/dx = 0 for p = 0 (not 0 * x^-1)
///                 tangent: dy = p x^(p-1) dx (0 for p = 0)
template <class T>
Tensor<T> pow(const Tensor<T>& x, std::type_identity_t<T> p);

/// |x|.            d/dx = grad * sign(x)      (sign(0) = 0: the subgradient PyTorch uses)
///                 tangent: dy = sign(x) dx
template <class T>
Tensor<T> abs(const Tensor<T>& x);

/// x^2, composed as x * x.     d/dx = 2 x grad
template <class T>
Tensor<T> square(const Tensor<T>& x);

/// min(max(x, low), high).     d/dx = grad where low <= x <= high, else 0
///                             tangent: dy = dx where low <= x <= high, else 0
template <class T>
Tensor<T> clamp(const Tensor<T>& x, std::type_identity_t<T> low = -std::numeric_limits<T>::infinity(),
                std::type_identity_t<T> high = std::numeric_limits<T>::infinity());

/// Gauss error function.       d/dx = grad * 2/sqrt(pi) e^(-x^2)
///                             tangent: dy = 2/sqrt(pi) e^(-x^2) dx
template <class T>
Tensor<T> erf(const Tensor<T>& x);

/// log(1 + x), accurate for small x (torch.log1p).
///   d/dx = g / (1 + x)
///   tangent: dy = dx / (1 + x)
template <class T>
Tensor<T> log1p(const Tensor<T>& x);

/// e^x - 1, accurate for small x (torch.expm1).
///   d/dx = g e^x = g (y + 1)
///   tangent: dy = (y + 1) dx
template <class T>
Tensor<T> expm1(const Tensor<T>& x);

/// Base-2 logarithm (torch.log2).
///   d/dx = g / (x ln 2)
///   tangent: dy = dx / (x ln 2)
template <class T>
Tensor<T> log2(const Tensor<T>& x);

/// Base-10 logarithm (torch.log10).
///   d/dx = g / (x ln 10)
///   tangent: dy = dx / (x ln 10)
template <class T>
Tensor<T> log10(const Tensor<T>& x);

/// 2^x (torch.exp2).
///   d/dx = g 2^x ln 2 = g y ln 2
///   tangent: dy = y ln 2 dx
template <class T>
Tensor<T> exp2(const Tensor<T>& x);

/// 1 / x (torch.reciprocal); 1/0 = inf, as in IEEE.
///   d/dx = -g / x^2 = -g y^2
///   tangent: dy = -y^2 dx
template <class T>
Tensor<T> reciprocal(const Tensor<T>& x);

/// 1 / sqrt(x) (torch.rsqrt).
///   d/dx = -g / (2 x^(3/2)) = -g y^3 / 2
///   tangent: dy = -y^3 / 2 dx
template <class T>
Tensor<T> rsqrt(const Tensor<T>& x);

/// Sine (torch.sin).
///   d/dx = g cos(x)
///   tangent: dy = cos(x) dx
template <class T>
Tensor<T> sin(const Tensor<T>& x);

/// Cosine (torch.cos).
///   d/dx = -g sin(x)
///   tangent: dy = -sin(x) dx
template <class T>
Tensor<T> cos(const Tensor<T>& x);

/// Tangent (torch.tan).
///   d/dx = g (1 + tan^2(x)) = g (1 + y^2)
///   tangent: dy = (1 + y^2) dx
template <class T>
Tensor<T> tan(const Tensor<T>& x);

/// Arcsine, in [-pi/2, pi/2]; NaN outside [-1, 1] (torch.asin).
///   d/dx = g / sqrt(1 - x^2)
///   tangent: dy = dx / sqrt(1 - x^2)
template <class T>
Tensor<T> asin(const Tensor<T>& x);

/// Arccosine, in [0, pi]; NaN outside [-1, 1] (torch.acos).
///   d/dx = -g / sqrt(1 - x^2)
///   tangent: dy = -dx / sqrt(1 - x^2)
template <class T>
Tensor<T> acos(const Tensor<T>& x);

/// Arctangent, in (-pi/2, pi/2) (torch.atan).
///   d/dx = g / (1 + x^2)
///   tangent: dy = dx / (1 + x^2)
template <class T>
Tensor<T> atan(const Tensor<T>& x);

/// atan(a / b) in the quadrant of the point (b, a), in [-pi, pi], with numpy broadcasting
/// (torch.atan2(input = a, other = b)); ShapeError when the shapes do not broadcast.
///   d/da = g b / (a^2 + b^2)
///   d/db = -g a / (a^2 + b^2)
///   tangent: dy = (b da - a db) / (a^2 + b^2)
template <class T>
Tensor<T> atan2(const Tensor<T>& a, const Tensor<T>& b);

/// Hyperbolic sine (torch.sinh).
///   d/dx = g cosh(x)
///   tangent: dy = cosh(x) dx
template <class T>
Tensor<T> sinh(const Tensor<T>& x);

/// Hyperbolic cosine (torch.cosh).
///   d/dx = g sinh(x)
///   tangent: dy = sinh(x) dx
template <class T>
Tensor<T> cosh(const Tensor<T>& x);

/// sqrt(a^2 + b^2) without overflow or underflow in the squares (std::hypot), with numpy
/// broadcasting (torch.hypot); ShapeError when the shapes do not broadcast.
///   d/da = g a / y
///   d/db = g b / y          (NaN at a = b = 0, as PyTorch's)
///   tangent: dy = (a da + b db) / y
template <class T>
Tensor<T> hypot(const Tensor<T>& a, const Tensor<T>& b);

/// base^exponent elementwise, both tensors, with numpy broadcasting (torch.pow(Tensor, Tensor));
/// ShapeError when the shapes do not broadcast. The zero masks are PyTorch's: an exponent of 0
/// gives the base a zero gradient (not 0 * b^-1, NaN at b = 0), and a base of 0 with an exponent
/// >= 0 gives the exponent a zero gradient (not 0 * log 0).
///   d/dbase     = g e b^(e-1)        (0 where e = 0)
///   d/dexponent = g b^e ln(b)        (0 where b = 0 and e >= 0; NaN for b < 0, as PyTorch's)
///   tangent: dy = e b^(e-1) db + b^e ln(b) de      (with the same zero masks)
template <class T>
Tensor<T> pow(const Tensor<T>& base, const Tensor<T>& exponent);

/// -1, 0 or 1 by the sign of x (torch.sign). Differs from PyTorch for NaN: sign(NaN) is NaN here
/// (NaN goes through every tapegrad op), PyTorch gives 0 (pytorch/pytorch#41245).
///   d/dx = 0
///   tangent: dy = 0
template <class T>
Tensor<T> sign(const Tensor<T>& x);

/// The largest integer <= x (torch.floor).
///   d/dx = 0 (PyTorch's: zero everywhere, the jumps included)
///   tangent: dy = 0
template <class T>
Tensor<T> floor(const Tensor<T>& x);

/// The smallest integer >= x (torch.ceil).
///   d/dx = 0 (PyTorch's: zero everywhere, the jumps included)
///   tangent: dy = 0
template <class T>
Tensor<T> ceil(const Tensor<T>& x);

/// The nearest integer, halves to the even one: round(0.5) = 0, round(1.5) = 2, round(-2.5) = -2
/// (torch.round, std::nearbyint; not std::round, which rounds halves away from zero).
///   d/dx = 0 (PyTorch's: zero everywhere, the jumps included)
///   tangent: dy = 0
template <class T>
Tensor<T> round(const Tensor<T>& x);

}  // namespace tapegrad
