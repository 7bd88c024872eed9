/// \file
/// Arithmetic with numpy broadcasting, and the operators (scalars allowed on either side).
#pragma once

#include <type_traits>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// a + b.      d/da = grad      d/db = grad      (the engine sums each back to its input's shape)
///             tangent: dy = da + db
template <class T>
Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b);

/// a - b.      d/da = grad      d/db = -grad
///             tangent: dy = da - db
template <class T>
Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b);

/// a * b.      d/da = grad * b      d/db = grad * a
///             tangent: dy = da * b + a * db
template <class T>
Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b);

/// a / b.      d/da = grad / b      d/db = -grad * a / b^2
///             tangent: dy = (da - y * db) / b
template <class T>
Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b);

/// -x.         d/dx = -grad
///             tangent: dy = -dx
template <class T>
Tensor<T> neg(const Tensor<T>& x);

// Operators. A scalar becomes a 0-d constant; std::type_identity_t lets `x * 2.0` work for
// float tensors too.
/// a + b, with broadcasting: add(a, b).
template <class T>
Tensor<T> operator+(const Tensor<T>& a, const Tensor<T>& b) {
    return add(a, b);
}
/// a - b, with broadcasting: sub(a, b).
template <class T>
Tensor<T> operator-(const Tensor<T>& a, const Tensor<T>& b) {
    return sub(a, b);
}
/// a * b, with broadcasting: mul(a, b).
template <class T>
Tensor<T> operator*(const Tensor<T>& a, const Tensor<T>& b) {
    return mul(a, b);
}
/// a / b, with broadcasting: div(a, b).
template <class T>
Tensor<T> operator/(const Tensor<T>& a, const Tensor<T>& b) {
    return div(a, b);
}
/// -x: neg(x).
template <class T>
Tensor<T> operator-(const Tensor<T>& x) {
    return neg(x);
}
/// a + s for a scalar s (a 0-d constant, no gradient): add(a, Tensor<T>(s)).
template <class T>
Tensor<T> operator+(const Tensor<T>& a, std::type_identity_t<T> s) {
    return add(a, Tensor<T>(s));
}
/// s + b for a scalar s (a 0-d constant, no gradient): add(Tensor<T>(s), b).
template <class T>
Tensor<T> operator+(std::type_identity_t<T> s, const Tensor<T>& b) {
    return add(Tensor<T>(s), b);
}
/// a - s for a scalar s (a 0-d constant, no gradient): sub(a, Tensor<T>(s)).
template <class T>
Tensor<T> operator-(const Tensor<T>& a, std::type_identity_t<T> s) {
    return sub(a, Tensor<T>(s));
}
/// s - b for a scalar s (a 0-d constant, no gradient): sub(Tensor<T>(s), b).
template <class T>
Tensor<T> operator-(std::type_identity_t<T> s, const Tensor<T>& b) {
    return sub(Tensor<T>(s), b);
}
/// a * s for a scalar s (a 0-d constant, no gradient): mul(a, Tensor<T>(s)).
template <class T>
Tensor<T> operator*(const Tensor<T>& a, std::type_identity_t<T> s) {
    return mul(a, Tensor<T>(s));
}
/// s * b for a scalar s (a 0-d constant, no gradient): mul(Tensor<T>(s), b).
template <class T>
Tensor<T> operator*(std::type_identity_t<T> s, const Tensor<T>& b) {
    return mul(Tensor<T>(s), b);
}
/// a / s for a scalar s (a 0-d constant, no gradient): div(a, Tensor<T>(s)).
template <class T>
Tensor<T> operator/(const Tensor<T>& a, std::type_identity_t<T> s) {
    return div(a, Tensor<T>(s));
}
/// s / b for a scalar s (a 0-d constant, no gradient): div(Tensor<T>(s), b).
template <class T>
Tensor<T> operator/(std::type_identity_t<T> s, const Tensor<T>& b) {
    return div(Tensor<T>(s), b);
}

}  // namespace tapegrad
