/// \file
/// Shape and Dims: a tensor's sizes and the dims an op takes, and the helpers every op uses to
/// check and combine shapes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <xtensor/xstorage.hpp>

namespace tapegrad {

/// A tensor's dimensions: xtensor's own shape type (inline storage for up to 4 dimensions), so a
/// tensor's shape() is its value's shape, never a copy that could go stale.
using Shape = xt::svector<std::size_t, 4, std::allocator<std::size_t>, true>;

/// The dims an op takes, e.g. `sum(x, {0, -1})` or `permute(x, {1, 0})`: signed, and a negative
/// dim counts from the end (-1 is the last), as PyTorch's `IntArrayRef dims`. Inline storage for up
/// to 6 dims, so passing them costs no allocation; build one from any container with
/// `Dims(v.begin(), v.end())`.
using Dims = xt::svector<std::int64_t, 6>;

/// "[2, 3]" for a shape; "[]" for a 0-d tensor.
inline std::string shape_str(const Shape& shape) {
    return fmt::format("[{}]", fmt::join(shape, ", "));
}

/// Resolves a possibly negative dim (-1 is the last) of the argument `arg` of shape `shape`, or
/// throws ValueError naming the op, the dim, the argument, its shape and the valid range
/// -ndim..ndim-1, e.g. "slice: dim 2 is out of range for x of shape [2, 4] (expected -2..1)"; a
/// 0-d tensor has no dim to name.
std::size_t normalize_dim(const char* op, const char* arg, std::int64_t dim, const Shape& shape);

/// Numpy broadcast of two shapes, or a ShapeError naming the op and both shapes.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

/// True when `from` can be broadcast to `to` (numpy rules, trailing alignment).
bool broadcastable_to(const Shape& from, const Shape& to);

/// Product of the dimensions (1 for a 0-d shape). Throws ValueError naming `op` for a shape too
/// large to index: a product of trailing dimensions above PTRDIFF_MAX, even when a leading zero
/// makes it empty (xtensor's signed strides would overflow).
std::size_t numel(const char* op, const Shape& shape);

/// PyTorch's size list with one dimension -1: the Shape with that dimension inferred so that it
/// holds as many elements as `from`. Two -1s, another negative size, or no fit (including a
/// 0-element tensor, where -1 could be anything) is a ShapeError naming op, the sizes and `from`.
Shape infer_shape(const char* op, std::span<const std::int64_t> sizes, const Shape& from);

}  // namespace tapegrad
