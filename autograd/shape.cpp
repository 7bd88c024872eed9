#include <tapegrad/autograd/shape.hpp>

#include <algorithm>
#include <cstdint>

#include <tapegrad/autograd/errors.hpp>

namespace tapegrad {

std::size_t normalize_dim(const char* op, const char* arg, std::int64_t dim, const Shape& shape) {
    const auto n = static_cast<std::int64_t>(shape.size());
    if (n == 0)
        fail<ValueError>("{}: dim {} is out of range for {} of shape [] (a 0-d tensor has no dims)", op, dim, arg);
    if (dim < -n || dim >= n) {
        fail<ValueError>("{}: dim {} is out of range for {} of shape {} (expected {}..{})", op, dim, arg,
                         shape_str(shape), -n, n - 1);
    }
    return static_cast<std::size_t>(dim < 0 ? dim + n : dim);
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

std::size_t numel(const char* op, const Shape& shape) {
    // Multiplied from the last dimension, as xtensor computes its (signed) strides: each partial
    // product must fit a ptrdiff_t, even before a leading zero makes the tensor empty, or a
    // wrapped count would describe a tensor of many elements holding none (or few).
    std::size_t n = 1;
    for (auto d = shape.rbegin(); d != shape.rend(); ++d) {
        if (__builtin_mul_overflow(n, *d, &n) || n > static_cast<std::size_t>(PTRDIFF_MAX)) {
            fail<ValueError>("{}: shape {} has more elements than a tensor can index", op, shape_str(shape));
        }
    }
    return n;
}

Shape infer_shape(const char* op, std::span<const std::int64_t> sizes, const Shape& from) {
    const std::size_t count = numel(op, from);
    Shape out(sizes.size(), 1);
    std::size_t inferred = sizes.size();
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        const bool infer = sizes[i] == -1;
        if ((infer && inferred != sizes.size()) || sizes[i] < -1) {
            fail<ShapeError>("{}: sizes [{}] for x of shape {}: {}", op, fmt::join(sizes, ", "), shape_str(from),
                             infer ? "only one dimension can be -1" : "sizes must be -1 or non-negative");
        }
        if (infer) {
            inferred = i;
        } else {
            out[i] = static_cast<std::size_t>(sizes[i]);
        }
    }
    if (inferred == sizes.size()) return out;
    const std::size_t known = numel(op, out);  // the -1 counts as 1 here
    if (known == 0 || count % known != 0) {
        fail<ShapeError>("{}: x of shape {} ({} elements) cannot be arranged as [{}]", op, shape_str(from), count,
                         fmt::join(sizes, ", "));
    }
    out[inferred] = count / known;
    return out;
}

}  // namespace tapegrad
