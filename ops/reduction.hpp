// Internal (not installed): what the reduction families (ops/reduce, extrema, scan, sort) share:
// the dims an op reduces and its result's shape, a tensor seen as [outer, size, inner] around one
// dim, and the differentiable pair that max, min, sort and topk take their values with (a gather
// along a dim and its adjoint, a scatter-add). That pair duplicates, for these ops' own use, what
// gather and scatter_add of ops/index do; the indices it gets are already in range.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include <tapegrad/autograd/plain_tensor.hpp>
#include <tapegrad/autograd/reduce_kernel.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad::detail {

/// Which dims of x the op reduces: every listed dim (negative ones count from the end), each once;
/// ValueError naming the op, the dim and x's shape for one out of range or listed twice.
template <class T>
DimMask reduced_dims(const char* op, const Tensor<T>& x, const Dims& dims);

/// Every dim of x (a whole-tensor reduction); ValueError for an undefined x.
template <class T>
DimMask all_dims(const char* op, const Tensor<T>& x);

/// x defined and dim one of its dims (negative from the end): the dim's index, else ValueError.
template <class T>
std::size_t checked_dim(const char* op, const Tensor<T>& x, std::int64_t dim);

/// The result's shape: reduced dims kept with size 1 (keepdim) or dropped.
Shape reduced_shape(const Shape& shape, const DimMask& reduced, bool keepdim);

/// How many elements each result element reduces (the product of the reduced dims' sizes).
std::size_t reduced_count(const Shape& shape, const DimMask& reduced);

/// grad (the result's shape) brought back to x's shape: reshaped to `kept` (the reduced dims with
/// size 1), then broadcast. Differentiable.
template <class T>
Tensor<T> expand_back(const Tensor<T>& grad, const Shape& kept, const Shape& x_shape);

/// A shape seen around dim d as [outer, size, inner]: element (o, j, i) is at (o size + j) inner + i,
/// so a slice along d starts at o size inner + i and steps by inner.
struct AlongDim {
    std::size_t outer = 1;
    std::size_t size = 1;
    std::size_t inner = 1;
};

/// The [outer, size, inner] view of `shape` around `dim` (a valid dim of it).
AlongDim along_dim(const Shape& shape, std::size_t dim);

/// Indices shared by a node and the nodes of its gradients, without a copy per level.
using SharedIndices = std::shared_ptr<const Indices>;

/// out[o, j, i] = x[o, index[o, j, i], i] along dim (torch.take_along_dim / gather), where the
/// index has x's shape but along dim; out holds the index's elements in `shape` (the index's shape,
/// or the same without a dim of size 1: max's keepdim = false). Recorded as `name`.
///   d/dx = put_along(grad, index, dim, x.shape)      tangent: dy = take_along(dx, index, dim, shape)
template <class T>
Tensor<T> take_along(const char* name, const Tensor<T>& x, const SharedIndices& index, std::size_t dim,
                     const Shape& shape);

/// The adjoint of take_along: zeros of `shape` with g[o, j, i] added at [o, index[o, j, i], i]
/// (scatter_add; g holds the index's elements in any shape). Recorded as "put_along".
///   d/dg = take_along(grad, index, dim, g.shape)      tangent: dy = put_along(dg, index, dim, shape)
template <class T>
Tensor<T> put_along(const Tensor<T>& g, const SharedIndices& index, std::size_t dim, const Shape& shape);

}  // namespace tapegrad::detail
