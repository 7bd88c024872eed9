#include "autograd/errors.hpp"

#include <algorithm>
#include <cstdint>

namespace tapegrad {

std::size_t normalize_axis(const char* op, std::int64_t axis, std::size_t ndim) {
    const auto n = static_cast<std::int64_t>(ndim);
    if (axis < -n || axis >= n || (n == 0)) {
        fail<ValueError>("{}: axis {} is out of range for a tensor with {} dimensions", op, axis, ndim);
    }
    return static_cast<std::size_t>(axis < 0 ? axis + n : axis);
}

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
    const std::size_t n = std::max(a.size(), b.size());
    Shape out(n, 1);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
        const std::size_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
        if (da != db && da != 1 && db != 1) {
            fail<ShapeError>("{}: a has shape {}, b has shape {}; they do not broadcast (dimension {} is {} vs {})", op,
                             shape_str(a), shape_str(b), i, da, db);
        }
        out[i] = da == 1 ? db : da;
    }
    return out;
}

bool broadcastable_to(const Shape& from, const Shape& to) {
    if (from.size() > to.size()) return false;
    const std::size_t offset = to.size() - from.size();
    for (std::size_t i = 0; i < from.size(); ++i) {
        if (from[i] != 1 && from[i] != to[i + offset]) return false;
    }
    return true;
}

std::size_t numel(const Shape& shape) {
    // Multiplied from the last dimension, as xtensor computes its (signed) strides: each partial
    // product must fit a ptrdiff_t, even before a leading zero makes the tensor empty, or a
    // wrapped count would describe a tensor of many elements holding none (or few).
    std::size_t n = 1;
    for (auto d = shape.rbegin(); d != shape.rend(); ++d) {
        if (__builtin_mul_overflow(n, *d, &n) || n > static_cast<std::size_t>(PTRDIFF_MAX)) {
            fail<ValueError>("shape {} has more elements than a tensor can index", shape_str(shape));
        }
    }
    return n;
}

}  // namespace tapegrad
