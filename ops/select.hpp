/// \file
/// Selection by masks: comparisons returning a Mask, mask logic and reductions (all, any,
/// count_nonzero), isfinite / isnan / isinf, and the differentiable ops that choose between values
/// elementwise: where, masked_fill, maximum, minimum and clamp with tensor bounds.
///
/// Comparisons follow IEEE as PyTorch's do: a comparison with NaN is false, except `ne` (!=), which
/// is true. They return a Mask, which is never recorded and never requires grad. A Mask does not
/// convert to bool (PyTorch's "Boolean value of Tensor with more than one value is ambiguous"): ask
/// `all(m)`, `any(m)` or `equal(a, b)`. So `a == b` on Tensors, Indices or Masks compares element by
/// element, and `CHECK(a == b)` in a test does not compile (use `equal`, or compare values).
///
/// Every op here broadcasts its tensor and mask arguments with numpy's rules; shapes that do not
/// broadcast are a ShapeError naming the op and every argument's shape, an undefined tensor a
/// ValueError naming the op and the argument.
#pragma once

#include <cstdint>
#include <optional>
#include <type_traits>

#include <tapegrad/autograd/plain_tensor.hpp>
#include <tapegrad/autograd/shape.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

// ---- Comparisons of tensors: a Mask of the broadcast shape (torch.eq, torch.ne, ...). ----

/// a == b elementwise (torch.eq); false where either is NaN.
template <class T>
Mask eq(const Tensor<T>& a, const Tensor<T>& b);
/// a == s elementwise.
template <class T>
Mask eq(const Tensor<T>& a, std::type_identity_t<T> s);
/// a != b elementwise (torch.ne); true where either is NaN.
template <class T>
Mask ne(const Tensor<T>& a, const Tensor<T>& b);
/// a != s elementwise.
template <class T>
Mask ne(const Tensor<T>& a, std::type_identity_t<T> s);
/// a < b elementwise (torch.lt); false where either is NaN.
template <class T>
Mask lt(const Tensor<T>& a, const Tensor<T>& b);
/// a < s elementwise.
template <class T>
Mask lt(const Tensor<T>& a, std::type_identity_t<T> s);
/// a <= b elementwise (torch.le); false where either is NaN.
template <class T>
Mask le(const Tensor<T>& a, const Tensor<T>& b);
/// a <= s elementwise.
template <class T>
Mask le(const Tensor<T>& a, std::type_identity_t<T> s);
/// a > b elementwise (torch.gt); false where either is NaN.
template <class T>
Mask gt(const Tensor<T>& a, const Tensor<T>& b);
/// a > s elementwise.
template <class T>
Mask gt(const Tensor<T>& a, std::type_identity_t<T> s);
/// a >= b elementwise (torch.ge); false where either is NaN.
template <class T>
Mask ge(const Tensor<T>& a, const Tensor<T>& b);
/// a >= s elementwise.
template <class T>
Mask ge(const Tensor<T>& a, std::type_identity_t<T> s);

/// NaN-free and not ±inf, elementwise (torch.isfinite).
template <class T>
Mask isfinite(const Tensor<T>& x);
/// NaN, elementwise (torch.isnan).
template <class T>
Mask isnan(const Tensor<T>& x);
/// +inf or -inf, elementwise (torch.isinf).
template <class T>
Mask isinf(const Tensor<T>& x);

// ---- Comparisons of Indices (and of Masks, false < true): the accuracy idiom `argmax(z, 1) == y`. ----

/// a == b elementwise, with broadcasting (torch.eq on long or bool tensors).
template <PlainElement E>
Mask eq(const PlainTensor<E>& a, const PlainTensor<E>& b);
/// a == s elementwise.
template <PlainElement E>
Mask eq(const PlainTensor<E>& a, std::type_identity_t<E> s);
/// a != b elementwise.
template <PlainElement E>
Mask ne(const PlainTensor<E>& a, const PlainTensor<E>& b);
/// a != s elementwise.
template <PlainElement E>
Mask ne(const PlainTensor<E>& a, std::type_identity_t<E> s);
/// a < b elementwise.
template <PlainElement E>
Mask lt(const PlainTensor<E>& a, const PlainTensor<E>& b);
/// a < s elementwise.
template <PlainElement E>
Mask lt(const PlainTensor<E>& a, std::type_identity_t<E> s);
/// a <= b elementwise.
template <PlainElement E>
Mask le(const PlainTensor<E>& a, const PlainTensor<E>& b);
/// a <= s elementwise.
template <PlainElement E>
Mask le(const PlainTensor<E>& a, std::type_identity_t<E> s);
/// a > b elementwise.
template <PlainElement E>
Mask gt(const PlainTensor<E>& a, const PlainTensor<E>& b);
/// a > s elementwise.
template <PlainElement E>
Mask gt(const PlainTensor<E>& a, std::type_identity_t<E> s);
/// a >= b elementwise.
template <PlainElement E>
Mask ge(const PlainTensor<E>& a, const PlainTensor<E>& b);
/// a >= s elementwise.
template <PlainElement E>
Mask ge(const PlainTensor<E>& a, std::type_identity_t<E> s);

// ---- Mask logic (torch.logical_and, ...; the operators &, |, ^, ~ on bool tensors). ----

/// a and b elementwise, with broadcasting (torch.logical_and).
Mask logical_and(const Mask& a, const Mask& b);
/// a or b elementwise, with broadcasting (torch.logical_or).
Mask logical_or(const Mask& a, const Mask& b);
/// a xor b elementwise, with broadcasting (torch.logical_xor).
Mask logical_xor(const Mask& a, const Mask& b);
/// not a elementwise (torch.logical_not).
Mask logical_not(const Mask& a);

/// True when every element is true; true for an empty mask (torch.all(m).item()).
bool all(const Mask& mask);
/// Whether every element along dim is true (torch.all(m, dim, keepdim)); true along a dim of size 0.
/// A dim out of range is a ValueError naming all, the dim and the shape.
Mask all(const Mask& mask, std::int64_t dim, bool keepdim = false);
/// True when some element is true; false for an empty mask (torch.any(m).item()).
bool any(const Mask& mask);
/// Whether some element along dim is true (torch.any(m, dim, keepdim)); false along a dim of size 0.
Mask any(const Mask& mask, std::int64_t dim, bool keepdim = false);
/// How many elements are true (torch.count_nonzero(m).item(), m.sum().item()).
std::int64_t count_nonzero(const Mask& mask);
/// How many elements are true along `dims`, which are removed (torch.count_nonzero(m, dims); with
/// keepdim, m.sum(dims, keepdim=True)). A dim out of range or named twice is a ValueError.
Indices count_nonzero(const Mask& mask, const Dims& dims, bool keepdim = false);
/// count_nonzero(mask): the sum of a mask, as an int64 (PyTorch's `mask.sum().item()`, the
/// accuracy idiom `(pred == y).sum()`); a Tensor's sum stays sum(Tensor).
std::int64_t sum(const Mask& mask);

// ---- Choosing values: differentiable in the tensors, never in the mask. ----

/// a where condition holds, else b, with condition, a and b broadcast together (torch.where).
///   d/da = where(condition, g, 0)      d/db = where(condition, 0, g)
/// (the engine sums each back to its input's shape). A NaN or inf in the branch not taken reaches
/// neither the value nor that branch's gradient, which is 0 there; but an op before where still
/// multiplies that 0 by its own derivative: where(x > 0, sqrt(x), 0) has a NaN gradient at x = 0,
/// as in PyTorch.
///   tangent: dy = where(condition, da, db)      (a missing tangent is 0)
template <class T>
Tensor<T> where(const Mask& condition, const Tensor<T>& a, const Tensor<T>& b);
/// where(condition, a, b) with b a scalar (a 0-d constant).    d/da = where(condition, g, 0)
///                                                             tangent: dy = where(condition, da, 0)
template <class T>
Tensor<T> where(const Mask& condition, const Tensor<T>& a, std::type_identity_t<T> b);
/// where(condition, a, b) with a a scalar (a 0-d constant).    d/db = where(condition, 0, g)
///                                                             tangent: dy = where(condition, 0, db)
template <class T>
Tensor<T> where(const Mask& condition, std::type_identity_t<T> a, const Tensor<T>& b);

/// x with `value` where mask holds (torch.masked_fill, out of place): composed as
/// where(mask, value, x). As PyTorch's, the result has the broadcast shape of x and mask (a mask
/// that broadcasts to x leaves x's shape).
///   d/dx = where(mask, 0, g)        (zero where filled)
///   tangent: dy = where(mask, 0, dx)
template <class T>
Tensor<T> masked_fill(const Tensor<T>& x, const Mask& mask, std::type_identity_t<T> value);

/// The larger of a and b elementwise, NaN if either is NaN (torch.maximum).
///   d/da = g where a > b, g/2 where a = b, 0 where a < b      (a tie splits g evenly, as PyTorch)
///   d/db = g where b > a, g/2 where a = b, 0 where b < a      (NaN: both get g, as PyTorch)
///   tangent: dy = da where a > b, db where b > a, (da + db) / 2 where a = b   (NaN: da + db)
template <class T>
Tensor<T> maximum(const Tensor<T>& a, const Tensor<T>& b);

/// The smaller of a and b elementwise, NaN if either is NaN (torch.minimum).
///   d/da = g where a < b, g/2 where a = b, 0 where a > b
///   d/db = g where b < a, g/2 where a = b, 0 where b > a
///   tangent: dy = da where a < b, db where b < a, (da + db) / 2 where a = b   (NaN: da + db)
template <class T>
Tensor<T> minimum(const Tensor<T>& a, const Tensor<T>& b);

/// min(max(x, low), high) with tensor bounds, x, low and high broadcast together (torch.clamp with
/// Tensor min / max); either bound may be std::nullopt, not both (ValueError). The result is NaN
/// where x or a bound is NaN, and `high` where low > high, as PyTorch's. The gradient at a boundary
/// goes to x, and where low > high only to high (PyTorch's clamp_backward_min_max):
///   d/dx    = g where low <= x <= high, else 0
///   d/dlow  = g where x < low and low < high, else 0        (without high: where x < low)
///   d/dhigh = g where x > high or high < low, else 0        (without low: where x > high)
///   tangent: dy = each tangent where its gradient above is g: dx, dlow or dhigh
template <class T>
Tensor<T> clamp(const Tensor<T>& x, const std::type_identity_t<std::optional<Tensor<T>>>& low,
                const std::type_identity_t<std::optional<Tensor<T>>>& high = std::nullopt);

// ---- Operators. ----

/// a == b elementwise: eq(a, b), a Mask (not a bool: use equal() on Indices and Masks).
template <class T>
Mask operator==(const Tensor<T>& a, const Tensor<T>& b) {
    return eq(a, b);
}
/// a != b elementwise: ne(a, b).
template <class T>
Mask operator!=(const Tensor<T>& a, const Tensor<T>& b) {
    return ne(a, b);
}
/// a < b elementwise: lt(a, b).
template <class T>
Mask operator<(const Tensor<T>& a, const Tensor<T>& b) {
    return lt(a, b);
}
/// a <= b elementwise: le(a, b).
template <class T>
Mask operator<=(const Tensor<T>& a, const Tensor<T>& b) {
    return le(a, b);
}
/// a > b elementwise: gt(a, b).
template <class T>
Mask operator>(const Tensor<T>& a, const Tensor<T>& b) {
    return gt(a, b);
}
/// a >= b elementwise: ge(a, b).
template <class T>
Mask operator>=(const Tensor<T>& a, const Tensor<T>& b) {
    return ge(a, b);
}
/// a == s elementwise: eq(a, s).
template <class T>
Mask operator==(const Tensor<T>& a, std::type_identity_t<T> s) {
    return eq(a, s);
}
/// a != s elementwise: ne(a, s).
template <class T>
Mask operator!=(const Tensor<T>& a, std::type_identity_t<T> s) {
    return ne(a, s);
}
/// a < s elementwise: lt(a, s).
template <class T>
Mask operator<(const Tensor<T>& a, std::type_identity_t<T> s) {
    return lt(a, s);
}
/// a <= s elementwise: le(a, s).
template <class T>
Mask operator<=(const Tensor<T>& a, std::type_identity_t<T> s) {
    return le(a, s);
}
/// a > s elementwise: gt(a, s).
template <class T>
Mask operator>(const Tensor<T>& a, std::type_identity_t<T> s) {
    return gt(a, s);
}
/// a >= s elementwise: ge(a, s).
template <class T>
Mask operator>=(const Tensor<T>& a, std::type_identity_t<T> s) {
    return ge(a, s);
}
/// s == b elementwise: eq(b, s).
template <class T>
Mask operator==(std::type_identity_t<T> s, const Tensor<T>& b) {
    return eq(b, s);
}
/// s != b elementwise: ne(b, s).
template <class T>
Mask operator!=(std::type_identity_t<T> s, const Tensor<T>& b) {
    return ne(b, s);
}
/// s < b elementwise: gt(b, s).
template <class T>
Mask operator<(std::type_identity_t<T> s, const Tensor<T>& b) {
    return gt(b, s);
}
/// s <= b elementwise: ge(b, s).
template <class T>
Mask operator<=(std::type_identity_t<T> s, const Tensor<T>& b) {
    return ge(b, s);
}
/// s > b elementwise: lt(b, s).
template <class T>
Mask operator>(std::type_identity_t<T> s, const Tensor<T>& b) {
    return lt(b, s);
}
/// s >= b elementwise: le(b, s).
template <class T>
Mask operator>=(std::type_identity_t<T> s, const Tensor<T>& b) {
    return le(b, s);
}

/// a == b elementwise on Indices or Masks: eq(a, b), a Mask; equal(a, b) is the one bool.
template <PlainElement E>
Mask operator==(const PlainTensor<E>& a, const PlainTensor<E>& b) {
    return eq(a, b);
}
/// a != b elementwise: ne(a, b).
template <PlainElement E>
Mask operator!=(const PlainTensor<E>& a, const PlainTensor<E>& b) {
    return ne(a, b);
}
/// a < b elementwise: lt(a, b).
template <PlainElement E>
Mask operator<(const PlainTensor<E>& a, const PlainTensor<E>& b) {
    return lt(a, b);
}
/// a <= b elementwise: le(a, b).
template <PlainElement E>
Mask operator<=(const PlainTensor<E>& a, const PlainTensor<E>& b) {
    return le(a, b);
}
/// a > b elementwise: gt(a, b).
template <PlainElement E>
Mask operator>(const PlainTensor<E>& a, const PlainTensor<E>& b) {
    return gt(a, b);
}
/// a >= b elementwise: ge(a, b).
template <PlainElement E>
Mask operator>=(const PlainTensor<E>& a, const PlainTensor<E>& b) {
    return ge(a, b);
}
/// a == s elementwise: eq(a, s).
template <PlainElement E>
Mask operator==(const PlainTensor<E>& a, std::type_identity_t<E> s) {
    return eq(a, s);
}
/// a != s elementwise: ne(a, s).
template <PlainElement E>
Mask operator!=(const PlainTensor<E>& a, std::type_identity_t<E> s) {
    return ne(a, s);
}
/// a < s elementwise: lt(a, s).
template <PlainElement E>
Mask operator<(const PlainTensor<E>& a, std::type_identity_t<E> s) {
    return lt(a, s);
}
/// a <= s elementwise: le(a, s).
template <PlainElement E>
Mask operator<=(const PlainTensor<E>& a, std::type_identity_t<E> s) {
    return le(a, s);
}
/// a > s elementwise: gt(a, s).
template <PlainElement E>
Mask operator>(const PlainTensor<E>& a, std::type_identity_t<E> s) {
    return gt(a, s);
}
/// a >= s elementwise: ge(a, s).
template <PlainElement E>
Mask operator>=(const PlainTensor<E>& a, std::type_identity_t<E> s) {
    return ge(a, s);
}

/// logical_and(a, b).
inline Mask operator&(const Mask& a, const Mask& b) {
    return logical_and(a, b);
}
/// logical_or(a, b).
inline Mask operator|(const Mask& a, const Mask& b) {
    return logical_or(a, b);
}
/// logical_xor(a, b).
inline Mask operator^(const Mask& a, const Mask& b) {
    return logical_xor(a, b);
}
/// logical_not(a) (PyTorch's ~ on a bool tensor).
inline Mask operator~(const Mask& a) {
    return logical_not(a);
}

}  // namespace tapegrad
