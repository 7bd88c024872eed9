/// \file
/// Indices and Mask: N-d arrays of int64 indices and of booleans, the arguments and results of
/// indexing, masking and comparisons. They carry no gradient (PyTorch's long and bool tensors
/// never require grad either).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xarray.hpp>

#include <tapegrad/autograd/errors.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// The element types a PlainTensor holds: std::int64_t (Indices) and bool (Mask).
template <class E>
concept PlainElement = std::is_same_v<E, std::int64_t> || std::is_same_v<E, bool>;

/// An N-d array of indices (E = std::int64_t: Indices) or of booleans (E = bool: Mask): what
/// index_select, gather and cross_entropy take, and what argmax and comparisons return (PyTorch's
/// long and bool tensors). Not differentiable, so it is a plain value: a copy is a copy (unlike
/// Tensor's shared handles), and an op never changes one it is given.
///
/// ```
/// Indices idx = {2, 0, -1};           // negative indices count from the end where ops take them
/// Indices rows = {{0, 1}, {1, 0}};    // 2-d from nested braces
/// Mask keep = {true, false, true};
/// Indices from_xt(xt::xarray<std::int64_t>{3, 4});
/// ```
template <class E>
class PlainTensor {
    static_assert(PlainElement<E>, "a PlainTensor holds std::int64_t (Indices) or bool (Mask)");

public:
    /// std::int64_t or bool.
    using value_type = E;
    /// The xtensor array that holds the values (row-major).
    using array_type = xt::xarray<E>;

    /// An empty 1-d array (shape [0]).
    PlainTensor() : value_(array_type::from_shape({0})) {}
    /// Takes (moves) an xtensor array of any shape.
    explicit PlainTensor(array_type value) : value_(std::move(value)) {}
    /// Refused at compile time: `Labels y(256)` would otherwise convert 256 to a 0-d xtensor array,
    /// not make 256 labels as std::vector's size constructor would. Use full().
    template <class I>
    requires std::is_arithmetic_v<I>
    explicit PlainTensor(I) = delete;
    /// A 1-d array of the vector's values.
    explicit PlainTensor(const std::vector<E>& values);
    /// From a flat brace list: a 1-d array.
    PlainTensor(xt::nested_initializer_list_t<E, 1> values);
    /// From two levels of braces, one inner list per row; ragged rows throw ShapeError.
    PlainTensor(xt::nested_initializer_list_t<E, 2> values);
    /// From three levels of braces; ragged lists throw ShapeError.
    PlainTensor(xt::nested_initializer_list_t<E, 3> values);

    /// A `shape`-shaped array filled with `value`; `full({}, v)` is 0-d.
    static PlainTensor full(const Shape& shape, E value);

    /// The values as an xtensor array, without a copy.
    const array_type& value() const noexcept { return value_; }
    /// Mutable access (the array may be reshaped or refilled: ops check what they are given).
    array_type& mutable_value() noexcept { return value_; }
    /// The dimensions; [] for a 0-d array.
    const Shape& shape() const noexcept { return value_.shape(); }
    /// The number of dimensions.
    std::size_t ndim() const noexcept { return value_.dimension(); }
    /// The number of elements (1 for a 0-d array).
    std::size_t numel() const noexcept { return value_.size(); }
    /// The single value of a one-element array; ValueError for any other.
    E item() const;
    /// Element i in row-major order (no bounds check, as std::vector's operator[]).
    E operator[](std::size_t i) const noexcept { return value_.data()[i]; }
    /// Writable element i in row-major order.
    E& operator[](std::size_t i) noexcept { return value_.data()[i]; }
    /// The first element in row-major order: ranges and algorithms see the values flat.
    const E* begin() const noexcept { return value_.data(); }
    /// One past the last element in row-major order.
    const E* end() const noexcept { return value_.data() + value_.size(); }

    /// The values as a float32 or float64 tensor, a new leaf (torch's `.to(torch.float)`, `.float()`):
    /// `one_hot(labels, 10).to<float>()`. A Mask gives 1 for true and 0 for false; an index beyond
    /// 2^24 (float) or 2^53 (double) rounds to the nearest representable value, as PyTorch's cast.
    template <Scalar T>
    Tensor<T> to(bool requires_grad = false) const;

    /// "Indices(int64, shape=[3])" or "Mask(bool, shape=[2, 2])" and then the values.
    std::string to_string() const;

private:
    array_type value_;
};

/// int64 indices: what index_select, gather and the classification losses take (`Labels`), and
/// what argmax, argmin, sort and topk return.
using Indices = PlainTensor<std::int64_t>;
/// Booleans: what comparisons and isfinite return and where, masked_fill and masked_select take.
using Mask = PlainTensor<bool>;
/// Class labels, one per sample: 1-d Indices.
using Labels = Indices;

/// True when both have the same shape and the same values (torch.equal); `a == b` instead
/// compares element by element and returns a Mask.
template <class E>
bool equal(const PlainTensor<E>& a, const PlainTensor<E>& b) noexcept {
    return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin());
}

/// Prints to_string(): the type, shape and values.
template <class E>
std::ostream& operator<<(std::ostream& os, const PlainTensor<E>& t);

namespace detail {
/// Throws the IndexError resolve_index() describes.
[[noreturn]] void index_out_of_range(const char* op, const char* arg, std::size_t dim, std::int64_t index,
                                     std::size_t size);
}  // namespace detail

/// Resolves `index` into dim `dim` (of size `size`) of the argument `arg` of `op`: a negative index
/// counts from the end (-1 is the last), as PyTorch. Out of range is an IndexError naming all of
/// them, e.g. "gather: index 7 is out of range for dim 1 of x, of size 5 (expected -5..4)".
inline std::size_t resolve_index(const char* op, const char* arg, std::size_t dim, std::int64_t index,
                                 std::size_t size) {
    const auto n = static_cast<std::int64_t>(size);
    if (index < -n || index >= n) [[unlikely]]
        detail::index_out_of_range(op, arg, dim, index, size);
    return static_cast<std::size_t>(index < 0 ? index + n : index);
}

}  // namespace tapegrad

/// \cond
// Lets fmt print Indices and Masks (to_string()). Left out of the API reference: Doxygen cannot
// place a specialisation inside fmt's namespace. Not a range to fmt (begin() and end() would make
// it one): to_string() shows the shape too.
template <class E>
struct fmt::is_range<tapegrad::PlainTensor<E>, char> : std::false_type {};
template <class E>
struct fmt::formatter<tapegrad::PlainTensor<E>> : fmt::formatter<std::string> {
    auto format(const tapegrad::PlainTensor<E>& t, format_context& ctx) const {
        return fmt::formatter<std::string>::format(t.to_string(), ctx);
    }
};
/// \endcond
