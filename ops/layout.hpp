/// \file
/// Layout ops: PyTorch's flatten, unflatten, expand, repeat, tile, pad, split, chunk, narrow, roll,
/// flip, diagonal, tril, triu, movedim and clone. Like the shape ops, every one returns a new tensor
/// that shares no memory with its input: where PyTorch returns a view (flatten, unflatten, expand,
/// narrow, split, chunk, diagonal, movedim), tapegrad returns a copy holding the same numbers, so
/// writing into the result (mutable_value()) never changes the input, and PyTorch's `view` is
/// `reshape` here. There is no `contiguous`: every tensor is contiguous. Dims are std::int64_t and
/// a negative dim counts from the end; a dim out of range is a ValueError naming the op, the dim and
/// the shape.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include <tapegrad/autograd/shape.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// Merges dims start_dim..end_dim (inclusive) into one (torch::flatten; composed with reshape). A
/// 0-d x becomes 1-d of size 1, as PyTorch's. start_dim after end_dim is a ValueError.
///   d/dx = reshape(g, x.shape)
template <class T>
Tensor<T> flatten(const Tensor<T>& x, std::int64_t start_dim = 0, std::int64_t end_dim = -1);

/// Splits dim into the dims `sizes` (torch::unflatten; composed with reshape); one size may be -1,
/// inferred. Empty sizes, sizes other than -1 below 0, or sizes whose product is not the dim's size
/// are a ShapeError naming unflatten, the sizes and x's shape.   d/dx = reshape(g, x.shape)
template <class T>
Tensor<T> unflatten(const Tensor<T>& x, std::int64_t dim, const std::vector<std::int64_t>& sizes);

/// x broadcast to `sizes` (torch::Tensor::expand; composed with broadcast_to): -1 keeps x's size,
/// new leading dims may be added (not as -1), and only a dim of size 1 expands. The result is a copy
/// that shares nothing with x (PyTorch's is a view). A dim of another size that differs is a
/// ShapeError naming expand, the dim and both shapes.
///   d/dx = sum of g over the expanded dims (sum_to(g, x.shape))
template <class T>
Tensor<T> expand(const Tensor<T>& x, const std::vector<std::int64_t>& sizes);

/// x repeated `repeats[i]` times along dim i (torch::Tensor::repeat, numpy's tile): repeats has at
/// least x's ndim entries, the extra ones leading (new dims). Fewer entries, or a negative one, is a
/// ValueError. Composed: reshape, broadcast_to, reshape.
///   d/dx = the sum of g's repeated blocks (g reshaped to [r0, s0, r1, s1, ...], summed over the r's)
template <class T>
Tensor<T> repeat(const Tensor<T>& x, const std::vector<std::int64_t>& repeats);

/// torch::tile: repeat with `reps` padded with leading 1s when it has fewer entries than x has dims.
/// A negative entry is a ValueError.   d/dx = as repeat
template <class T>
Tensor<T> tile(const Tensor<T>& x, const std::vector<std::int64_t>& reps);

/// Constant padding (torch::nn::functional::pad, mode "constant"): `pad` holds (before, after) pairs
/// starting with the last dim, {left, right, top, bottom, ...}; a negative amount crops, as
/// PyTorch's. Elements added hold `value`. An odd-length pad is a ValueError; more pairs than x has
/// dims is a ValueError, and a crop larger than the dim a ShapeError, each naming pad, the pad list
/// and x's shape.   d/dx = g with the padding cut away (and the crops put back as zeros): pad(g, -pad)
///   tangent: dy = pad(dx, pad) with 0 (the constant value has no tangent)
template <class T>
Tensor<T> pad(const Tensor<T>& x, const std::vector<std::int64_t>& pad, std::type_identity_t<T> value = 0);

/// How pad fills the added elements: with a constant, or by reflecting x at its edges.
enum class PadMode {
    Constant,  ///< every added element holds `value` (PyTorch's "constant")
    Reflect,   ///< x mirrored at each edge, the edge itself not repeated (PyTorch's "reflect")
};

/// pad with a mode (torch::nn::functional::pad's `mode`): PadMode::Constant is the overload above;
/// PadMode::Reflect mirrors x ({1, 2, 3} padded by {2, 1} is {3, 2, 1, 2, 3, 2}; composed with
/// slice, flip and concat), in any of x's dims (PyTorch limits it to the last 1-3 of 2-5 dim inputs).
/// Reflect amounts must be non-negative and smaller than their dim (else ValueError naming pad, the
/// pad list and x's shape); `value` is unused.   d/dx = g's reflected parts folded back onto the
/// elements they copy, plus g's middle      tangent: dy = pad(dx, pad, mode)
template <class T>
Tensor<T> pad(const Tensor<T>& x, const std::vector<std::int64_t>& pad, PadMode mode,
              std::type_identity_t<T> value = 0);

/// Pieces of split_size along dim (torch::split), the last one smaller when the size does not
/// divide; split_size 0 is allowed only on a dim of size 0 (one empty piece). A 0-d x, or
/// split_size < 0, is a ValueError. Each piece is a slice. Note: a braced list of one element,
/// `split(x, {2})`, binds to this overload (as a split_size), as in LibTorch; write
/// `std::vector<std::int64_t>{2}` for the other.   d/dx = each piece's g placed at its slice
template <class T>
std::vector<Tensor<T>> split(const Tensor<T>& x, std::int64_t split_size, std::int64_t dim = 0);

/// Pieces of the given sizes along dim (torch::split with a list, split_with_sizes). Sizes that do
/// not sum to the dim's size are a ShapeError, a negative size a ValueError, each naming split, the
/// sizes and x's shape.   d/dx = each piece's g placed at its slice
template <class T>
std::vector<Tensor<T>> split(const Tensor<T>& x, const std::vector<std::int64_t>& sizes, std::int64_t dim = 0);

/// `chunks` pieces along dim as PyTorch's chunk: split with size ceil(size / chunks), so it may
/// return fewer than `chunks` pieces (6 in 4 chunks gives 3 of 2); a dim of size 0 gives `chunks`
/// empty pieces. chunks <= 0, or a 0-d x, is a ValueError.   d/dx = each piece's g placed at its slice
template <class T>
std::vector<Tensor<T>> chunk(const Tensor<T>& x, std::int64_t chunks, std::int64_t dim = 0);

/// Elements start <= i < start + length along dim (torch::narrow; composed with slice); a negative
/// start counts from the end. Unlike slice, nothing is clamped: a start outside -size..size, a
/// negative length or start + length past the end is a ValueError naming narrow, the dim and x's
/// shape.   d/dx = g placed at [start, start + length), zeros elsewhere
template <class T>
Tensor<T> narrow(const Tensor<T>& x, std::int64_t dim, std::int64_t start, std::int64_t length);

/// Rolls x by shifts[i] along dims[i] (torch::roll; composed with slice and concat): the element at
/// i moves to (i + shift) mod size. With no dims, x is rolled flattened by one shift and given back
/// its shape. shifts and dims of different lengths (or several shifts without dims) are a
/// ValueError.   d/dx = roll(g, -shifts, dims)
template <class T>
Tensor<T> roll(const Tensor<T>& x, const std::vector<std::int64_t>& shifts, const Dims& dims = {});

/// Reverses the order of the elements along each of dims (torch::flip). A dim listed twice is a
/// ValueError.   d/dx = flip(g, dims)      tangent: dy = flip(dx, dims)
template <class T>
Tensor<T> flip(const Tensor<T>& x, const Dims& dims);

/// The diagonal of the (dim1, dim2) planes, with offset above (> 0) or below (< 0) the main one, as a
/// last dim appended after x's other dims (torch::diagonal). dim1 and dim2 naming one dim is a
/// ValueError.   d/dx = g placed on the diagonal, zeros elsewhere
///   tangent: dy = diagonal(dx, offset, dim1, dim2)
template <class T>
Tensor<T> diagonal(const Tensor<T>& x, std::int64_t offset = 0, std::int64_t dim1 = 0, std::int64_t dim2 = 1);

/// The lower triangle of the last two dims (torch::tril): x[..., i, j] where j - i <= diagonal,
/// else 0 (also where x is inf or NaN). x with fewer than 2 dims is a ShapeError.
///   d/dx = tril(g, diagonal)      tangent: dy = tril(dx, diagonal)
template <class T>
Tensor<T> tril(const Tensor<T>& x, std::int64_t diagonal = 0);

/// The upper triangle of the last two dims (torch::triu): x[..., i, j] where j - i >= diagonal,
/// else 0. x with fewer than 2 dims is a ShapeError.   d/dx = triu(g, diagonal)
///   tangent: dy = triu(dx, diagonal)
template <class T>
Tensor<T> triu(const Tensor<T>& x, std::int64_t diagonal = 0);

/// Moves dim `source` to position `destination`, the other dims keeping their order
/// (torch::movedim; composed with permute).   d/dx = movedim(g, destination, source)
template <class T>
Tensor<T> movedim(const Tensor<T>& x, std::int64_t source, std::int64_t destination);

/// Moves each source[i] to position destination[i], the other dims keeping their order
/// (torch::movedim). Lists of different lengths, or a dim repeated in either, are a ValueError.
///   d/dx = movedim(g, destination, source)
template <class T>
Tensor<T> movedim(const Tensor<T>& x, const Dims& source, const Dims& destination);

/// A copy of x on the tape (torch::clone): differentiable, sharing nothing with x.   d/dx = g
///   tangent: dy = clone(dx)
template <class T>
Tensor<T> clone(const Tensor<T>& x);

}  // namespace tapegrad
