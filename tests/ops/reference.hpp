// Plain-loop building blocks for the op table's forward references. Deliberately independent
// of tapegrad (no ops, no reduce kernel): index arithmetic written out.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <xtensor/xarray.hpp>

namespace optable::ref {

using Array = xt::xarray<double>;
using Index = Array::shape_type;  // xtensor's shape type (tapegrad::Shape is the same type)

inline std::size_t count(const Index& shape) {
    std::size_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

inline Index shape_of(const Array& a) {
    return Index(a.shape().begin(), a.shape().end());
}

inline Array empty(const Index& shape) {
    return Array::from_shape(shape);
}

inline Index unravel(std::size_t flat, const Index& shape) {
    Index idx(shape.size());
    for (std::size_t i = shape.size(); i-- > 0;) {
        idx[i] = flat % shape[i];
        flat /= shape[i];
    }
    return idx;
}

inline std::size_t ravel(const Index& idx, const Index& shape) {
    std::size_t flat = 0;
    for (std::size_t i = 0; i < shape.size(); ++i) flat = flat * shape[i] + idx[i];
    return flat;
}

inline std::size_t axis_of(std::int64_t axis, std::size_t ndim) {
    return static_cast<std::size_t>(axis < 0 ? axis + static_cast<std::int64_t>(ndim) : axis);
}

template <class F>
Array map(const Array& a, F f) {
    Array out = ref::empty(ref::shape_of(a));
    for (std::size_t i = 0; i < a.size(); ++i) out.data()[i] = f(a.data()[i]);
    return out;
}

/// Numpy broadcasting written out: trailing alignment, size-1 axes repeat.
template <class F>
Array zip(const Array& a, const Array& b, F f) {
    const Index sa = ref::shape_of(a), sb = ref::shape_of(b);
    const std::size_t n = std::max(sa.size(), sb.size());
    Index out_shape(n);
    auto dim = [n](const Index& s, std::size_t i) { return i < n - s.size() ? std::size_t(1) : s[i - (n - s.size())]; };
    for (std::size_t i = 0; i < n; ++i) out_shape[i] = std::max(dim(sa, i), dim(sb, i));
    Array out = ref::empty(out_shape);
    auto source = [&](const Index& idx, const Index& s) {
        Index sub(s.size());
        for (std::size_t i = 0; i < s.size(); ++i) sub[i] = s[i] == 1 ? 0 : idx[i + n - s.size()];
        return ref::ravel(sub, s);
    };
    for (std::size_t k = 0; k < out.size(); ++k) {
        const Index idx = ref::unravel(k, out_shape);
        out.data()[k] = f(a.data()[source(idx, sa)], b.data()[source(idx, sb)]);
    }
    return out;
}

/// Folds over the listed axes (already non-negative); keepdims leaves them with size 1.
template <class F>
Array reduce(const Array& x, const std::vector<std::size_t>& axes, bool keepdims, double init, F fold) {
    const Index sx = ref::shape_of(x);
    Index kept = sx;
    for (auto a : axes) kept[a] = 1;
    Array out = ref::empty(kept);
    std::fill(out.begin(), out.end(), init);
    for (std::size_t k = 0; k < x.size(); ++k) {
        Index idx = ref::unravel(k, sx);
        for (auto a : axes) idx[a] = 0;
        double& slot = out.data()[ref::ravel(idx, kept)];
        slot = fold(slot, x.data()[k]);
    }
    if (keepdims) return out;
    Index dropped;
    for (std::size_t i = 0; i < sx.size(); ++i) {
        if (std::find(axes.begin(), axes.end(), i) == axes.end()) dropped.push_back(sx[i]);
    }
    out.reshape(dropped);
    return out;
}

inline std::vector<std::size_t> all_axes(const Array& x) {
    std::vector<std::size_t> axes(x.dimension());
    for (std::size_t i = 0; i < axes.size(); ++i) axes[i] = i;
    return axes;
}

inline Array sum(const Array& x, const std::vector<std::size_t>& axes, bool keepdims = false) {
    return reduce(x, axes, keepdims, 0.0, [](double s, double v) { return s + v; });
}

inline Array max(const Array& x, const std::vector<std::size_t>& axes, bool keepdims = false) {
    return reduce(x, axes, keepdims, -INFINITY,
                  [](double m, double v) { return std::isnan(m) || v > m || std::isnan(v) ? v : m; });
}

/// log sum e^x along one axis, with keepdims; shifted by the max so that large logits stay finite.
inline Array logsumexp(const Array& x, std::size_t axis) {
    const Array m = ref::max(x, {axis}, true);
    const Array e = ref::zip(x, m, [](double v, double mv) { return std::exp(v - mv); });
    const Array s = ref::sum(e, {axis}, true);
    return ref::zip(m, s, [](double mv, double sv) { return mv + std::log(sv); });
}

inline Array log_softmax(const Array& x, std::size_t axis) {
    return ref::zip(x, ref::logsumexp(x, axis), [](double v, double l) { return v - l; });
}

/// (batch x) m x k times (batch x) k x n, by the triple loop.
inline Array matmul(const Array& a, const Array& b) {
    const bool batched = a.dimension() == 3;
    const std::size_t batch = batched ? a.shape()[0] : 1;
    const std::size_t m = a.shape()[a.dimension() - 2], k = a.shape()[a.dimension() - 1];
    const std::size_t n = b.shape()[b.dimension() - 1];
    Array out = batched ? ref::empty({batch, m, n}) : ref::empty({m, n});
    for (std::size_t t = 0; t < batch; ++t) {
        for (std::size_t i = 0; i < m; ++i) {
            for (std::size_t j = 0; j < n; ++j) {
                double s = 0;
                for (std::size_t p = 0; p < k; ++p) s += a.data()[(t * m + i) * k + p] * b.data()[(t * k + p) * n + j];
                out.data()[(t * m + i) * n + j] = s;
            }
        }
    }
    return out;
}

/// Output axis i is input axis dims[i].
inline Array permute(const Array& x, const std::vector<std::size_t>& dims) {
    const Index sx = ref::shape_of(x);
    Index so(dims.size());
    for (std::size_t i = 0; i < dims.size(); ++i) so[i] = sx[dims[i]];
    Array out = ref::empty(so);
    for (std::size_t k = 0; k < out.size(); ++k) {
        const Index io = ref::unravel(k, so);
        Index ix(sx.size());
        for (std::size_t i = 0; i < dims.size(); ++i) ix[dims[i]] = io[i];
        out.data()[k] = x.data()[ref::ravel(ix, sx)];
    }
    return out;
}

/// The last two axes swapped.
inline Array transpose_last(const Array& x) {
    std::vector<std::size_t> dims = ref::all_axes(x);
    std::swap(dims[dims.size() - 1], dims[dims.size() - 2]);
    return ref::permute(x, dims);
}

/// Joins along an existing axis.
inline Array concat(const std::vector<Array>& xs, std::size_t axis) {
    Index so = ref::shape_of(xs[0]);
    so[axis] = 0;
    for (const auto& x : xs) so[axis] += x.shape()[axis];
    Array out = ref::empty(so);
    std::size_t offset = 0;
    for (const auto& x : xs) {
        const Index sx = ref::shape_of(x);
        for (std::size_t k = 0; k < x.size(); ++k) {
            Index idx = ref::unravel(k, sx);
            idx[axis] += offset;
            out.data()[ref::ravel(idx, so)] = x.data()[k];
        }
        offset += sx[axis];
    }
    return out;
}

inline Array reshaped(Array x, const Index& shape) {
    x.reshape(shape);
    return x;
}

}  // namespace optable::ref
