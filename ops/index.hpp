/// \file
/// Indexing ops: PyTorch's index_select, gather, scatter_add, take_along_dim, masked_select and
/// select, and LibTorch's indexing sugar `index(x, {0, Slice(1, None)})`. Indices are int64
/// (`Indices`, a negative index counts from the end of its dim) and masks booleans (`Mask`); neither
/// carries a gradient. An index out of range is an IndexError (a ValueError) naming the op, the
/// index, the dim and its size; an index array of the wrong ndim or shape a ShapeError naming the
/// shapes; a dim out of range a ValueError. Like every op here the result is a copy, never a view.
///
/// The backward of a selection is a scatter-add into zeros: an element picked k times gets the sum
/// of its k incoming gradients. The backward of scatter_add with respect to src is a gather. Both
/// are written with these same ops, so gradients of gradients work.
#pragma once

#include <cstdint>
#include <optional>
#include <type_traits>
#include <variant>
#include <vector>

#include <tapegrad/autograd/plain_tensor.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// The rows (or, along another dim, the slices) of x at the 1-d `idx`, in its order, repeats
/// allowed (torch::index_select): y has x's shape with size idx.numel() along dim. A 0-d idx picks
/// one slice and keeps the dim (size 1), as PyTorch; a 0-d x takes dims 0 and -1, one index (which
/// must be 0 or -1), and gives a 0-d y. What an embedding lookup is:
/// `index_select(weight, 0, token_ids)`. idx of 2 or more dims is a ShapeError; an index out of
/// range an IndexError naming index_select, the index and the size.
///   d/dx = zeros of x's shape with g's slices added at idx along dim (repeated indices accumulate)
///   tangent: dy = index_select(dx, dim, idx)
template <class T>
Tensor<T> index_select(const Tensor<T>& x, std::int64_t dim, const Indices& idx);

/// y[i][j][k] = x[idx[i][j][k]][j][k] for dim 0 (torch::gather; likewise for the other dims): y has
/// idx's shape. idx has x's number of dims (else ShapeError), and in every dim but `dim` a size no
/// larger than x's (else ShapeError naming both shapes); along dim any size. An index out of range
/// is an IndexError naming gather, the index and the size.
///   d/dx = scatter_add(zeros of x's shape, dim, idx, g)      tangent: dy = gather(dx, dim, idx)
template <class T>
Tensor<T> gather(const Tensor<T>& x, std::int64_t dim, const Indices& idx);

/// Out of place torch::scatter_add: a copy of x with, for dim 0, src[i][j][k] added at
/// [idx[i][j][k]][j][k] for every position of idx (repeated indices accumulate; elements of src
/// outside idx's shape are not used). x, idx and src have one number of dims; idx is no larger
/// than src in any dim and no larger than x in the dims other than `dim` (else ShapeError naming
/// the shapes); an index out of range is an IndexError naming scatter_add.
///   d/dx = g
///   d/dsrc = gather(g, dim, idx), zero where src is outside idx's shape
///   tangent: dy = scatter_add(dx, dim, idx, dsrc) (dx = 0 when x has none)
template <class T>
Tensor<T> scatter_add(const Tensor<T>& x, std::int64_t dim, const Indices& idx, const Tensor<T>& src);

/// torch::take_along_dim: gather along dim after broadcasting x and idx against each other in the
/// other dims (x and idx have one number of dims, else ShapeError; sizes that neither match nor are
/// 1 are a ShapeError naming both shapes). Without a dim, x and idx are flattened:
/// gather(flatten(x), 0, flatten(idx)), a 1-d result. Composed: broadcast_to, reshape, gather, so
/// d/dx = the gather's backward, summed over the dims x was broadcast in.
///   tangent: dy = take_along_dim(dx, idx, dim)
template <class T>
Tensor<T> take_along_dim(const Tensor<T>& x, const Indices& idx, std::optional<std::int64_t> dim = std::nullopt);

/// The elements of x where mask is true, in row-major order, as a 1-d tensor (torch::masked_select).
/// x and mask are broadcast against each other (else ShapeError naming both shapes), so the result
/// has as many elements as the broadcast mask has true values. Composed: broadcast_to, then a
/// selection of x's flat elements.
///   d/dx = g placed at the selected positions, zeros elsewhere (summed where x was broadcast)
///   tangent: dy = masked_select(dx, mask)
template <class T>
Tensor<T> masked_select(const Tensor<T>& x, const Mask& mask);

/// The slice of x at position `index` along dim, with that dim removed (torch::select, `x[i]` for
/// dim 0): a 3 x 4 x 5 x gives a 3 x 5 y for dim 1. A negative index counts from the end; out of
/// range is an IndexError naming select, the index and the size; a 0-d x is a ShapeError.
///   d/dx = zeros of x's shape with g placed at index along dim      tangent: dy = select(dx, dim, index)
template <class T>
Tensor<T> select(const Tensor<T>& x, std::int64_t dim, std::int64_t index);

/// The pieces of LibTorch's indexing sugar (torch::indexing): `using namespace tapegrad::indexing;`
/// then `index(x, {0, Slice(1, None)})`, PyTorch's `x[0, 1:]`.
namespace indexing {

/// An omitted slice bound (torch::indexing::None): `Slice(1, None)` is Python's `1:`. Only a slice
/// bound: tapegrad's index() has no new-axis None (use unsqueeze).
inline constexpr std::nullopt_t None = std::nullopt;

/// Python's start:stop:step on one dim (torch::indexing::Slice): an omitted start is 0, an omitted
/// stop the dim's size, an omitted step 1; negative bounds count from the end, then both are clamped
/// to the dim, as Python's slices. The step must be positive (ValueError, as PyTorch's).
struct Slice {
    /// `Slice()` is `:`, `Slice(1, None)` is `1:`, `Slice(None, -1)` is `:-1`, `Slice(None, None, 2)` is `::2`.
    Slice(std::optional<std::int64_t> start_index = None, std::optional<std::int64_t> stop_index = None,
          std::optional<std::int64_t> step_size = None)
        : start(start_index), stop(stop_index), step(step_size) {}
    std::optional<std::int64_t> start;  ///< first position (default 0)
    std::optional<std::int64_t> stop;   ///< one past the last position (default the dim's size)
    std::optional<std::int64_t> step;   ///< distance between positions (default 1)
};

/// One entry of index()'s list (at::indexing::TensorIndex): an integer, which selects one position
/// and removes the dim (select), or a Slice, which keeps the dim.
class TensorIndex {
public:
    /// An integer position; negative counts from the end.
    template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>) TensorIndex(I i)
        : entry_(static_cast<std::int64_t>(i)) {}
    /// A slice.
    TensorIndex(Slice s) : entry_(s) {}
    /// The integer, or null for a slice.
    const std::int64_t* integer() const noexcept { return std::get_if<std::int64_t>(&entry_); }
    /// The slice, or null for an integer.
    const Slice* slice() const noexcept { return std::get_if<Slice>(&entry_); }

private:
    std::variant<std::int64_t, Slice> entry_;
};

}  // namespace indexing

/// LibTorch's `x.index({...})` as a free function: `index(x, {0, Slice(1, None)})` is PyTorch's
/// `x[0, 1:]`. Entry k applies to dim k of x: an integer selects a position and removes the dim
/// (select), a Slice keeps the dim (Python's start:stop:step, clamped). Dims after the last entry
/// are kept whole, as `x[0]` keeps them. Composed from select, slice and (for a step above 1)
/// index_select, so it is differentiable: the gradient is g placed back where the entries took it
/// from. More entries than x has dims is a ShapeError; an integer out of range an IndexError and
/// a step below 1 a ValueError, each naming index. Differs from LibTorch: no None (new axis),
/// Ellipsis or tensor entries (use unsqueeze, index_select, masked_select), and the result is a
/// copy, not a view.   d/dx = g placed back at the indexed positions, zeros elsewhere
///   tangent: dy = index(dx, indices)
template <class T>
Tensor<T> index(const Tensor<T>& x, const std::vector<indexing::TensorIndex>& indices);

}  // namespace tapegrad
