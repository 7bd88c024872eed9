/// \file
/// Argument checks shared by the ops: each throws with the op, the argument and the shapes.
#pragma once

#include <cmath>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// Throws ValueError `"op: arg is an undefined tensor"` unless t is defined. These checks are
/// the ones tapegrad's ops make; your own ops (record()) can use them for the same messages.
template <class T>
void check_defined(const char* op, const char* arg, const Tensor<T>& t) {
    if (!t.defined()) fail<ValueError>("{}: {} is an undefined tensor", op, arg);
}

/// Both defined and broadcast-compatible; returns the broadcast shape.
template <class T>
Shape check_broadcast(const char* op, const Tensor<T>& a, const Tensor<T>& b) {
    check_defined(op, "a", a);
    check_defined(op, "b", b);
    if (a.shape() == b.shape() || b.ndim() == 0) return a.shape();  // the common cases, without the general rule
    if (a.ndim() == 0) return b.shape();
    return broadcast_shapes(op, a.shape(), b.shape());
}

/// Both defined and of one shape; else ShapeError naming op, both arguments and their shapes.
template <class T>
void check_same_shape(const char* op, const char* arg_a, const Tensor<T>& a, const char* arg_b, const Tensor<T>& b) {
    check_defined(op, arg_a, a);
    check_defined(op, arg_b, b);
    if (a.shape() != b.shape()) {
        fail<ShapeError>("{}: {} has shape {}, {} has shape {}; they must be equal", op, arg_a, shape_str(a.shape()),
                         arg_b, shape_str(b.shape()));
    }
}

/// Defined, with exactly `ndim` dimensions; else ShapeError naming op, arg, its shape and ndim.
template <class T>
void check_ndim(const char* op, const char* arg, const Tensor<T>& t, std::size_t ndim) {
    check_defined(op, arg, t);
    if (t.ndim() != ndim) {
        fail<ShapeError>("{}: {} has shape {}; expected {} dimensions", op, arg, shape_str(t.shape()), ndim);
    }
}

/// Throws ValueError naming op and arg when the scalar argument v is NaN.
inline void check_not_nan(const char* op, const char* arg, double v) {
    if (std::isnan(v)) fail<ValueError>("{}: {} is NaN", op, arg);
}

}  // namespace tapegrad
