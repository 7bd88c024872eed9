// Tensor: a shared handle to a value (an xtensor array), its gradient and the node that made it.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include <xtensor/xarray.hpp>

#include <tapegrad/autograd/buffer_pool.hpp>
#include <tapegrad/autograd/errors.hpp>

namespace tapegrad {

template <class T>
class Node;
template <class T>
struct TensorImpl;

static_assert(std::is_same_v<Shape, xt::xarray<double>::shape_type>, "a tensor's shape() is its value's shape");

template <class T>
concept Scalar = std::is_same_v<T, float> || std::is_same_v<T, double>;

/// "float32" or "float64".
template <class T>
constexpr const char* dtype_name() {
    return std::is_same_v<T, float> ? "float32" : "float64";
}

/// A differentiable N-dimensional array of float (float32) or double (float64).
///
/// Copies are cheap and share state, as torch::Tensor does: `b = a` makes b another
/// name for a's value and gradient. `Tensor()` is undefined (holds nothing), like an
/// undefined LibTorch tensor; a gradient that was never computed is undefined.
template <class T>
class Tensor {
    static_assert(Scalar<T>, "tapegrad tensors hold float or double");

public:
    using value_type = T;
    using array_type = xt::xarray<T>;

    Tensor() = default;
    /// Takes (moves) an xtensor array; a leaf that requires grad when asked to.
    explicit Tensor(array_type value, bool requires_grad = false);
    /// A 0-d tensor holding one number.
    explicit Tensor(T scalar, bool requires_grad = false);
    /// From nested braces: `Tensor<double> x = {{1, 2}, {3, 4}};`. A column literal such as
    /// {{0.}, {1.}} is ambiguous in C++: build flat and reshape instead.
    Tensor(xt::nested_initializer_list_t<T, 1> values);
    Tensor(xt::nested_initializer_list_t<T, 2> values);
    Tensor(xt::nested_initializer_list_t<T, 3> values);
    Tensor(xt::nested_initializer_list_t<T, 4> values);

    bool defined() const noexcept { return impl_ != nullptr; }

    /// The value as an xtensor array, without a copy. Row-major and contiguous.
    const array_type& value() const;
    /// Mutable access for in-place updates (optimisers); bumps the version counter so that
    /// backward through a graph that saved this tensor before the change is refused.
    array_type& mutable_value();
    /// How many times mutable_value() was taken; saved by every node that uses this tensor.
    std::uint64_t version() const;

    const Shape& shape() const;
    std::size_t ndim() const { return shape().size(); }
    std::size_t numel() const;
    /// The single value of a tensor with one element.
    T item() const;

    bool requires_grad() const;
    /// Marks a leaf as a parameter to differentiate; throws on a non-leaf (as PyTorch).
    Tensor& requires_grad_(bool on = true);
    bool is_leaf() const;
    /// Name of the op that produced this tensor ("" for a leaf).
    std::string grad_fn_name() const;

    /// The accumulated gradient; undefined until a backward reaches this tensor.
    const Tensor& grad() const;
    /// Mutable gradient, for optimisers that update it in place (clipping, weight decay).
    Tensor& mutable_grad();
    /// Drops the gradient (PyTorch's set_to_none=True).
    void zero_grad();
    /// Non-leaf tensors keep their gradient too, after the next backward.
    Tensor& retain_grad();

    /// A new leaf sharing nothing with the graph: same value (copied), no grad_fn.
    Tensor detach() const;
    /// A float32/float64 copy as a new leaf. Not recorded on the tape: gradients do not flow
    /// across dtypes (train in float32, then check gradients on a float64 copy).
    template <class U>
    Tensor<U> to(bool requires_grad = false) const;

    /// Reverse mode from this tensor. A tensor with one element seeds with 1; any other needs
    /// `seed` of its shape. Frees what the graph saved unless retain_graph (which defaults to
    /// create_graph); with create_graph the backward is itself recorded, so the gradients it
    /// leaves in .grad() can be differentiated again. As in PyTorch, such a .grad() refers back
    /// to its leaf (a reference cycle) until zero_grad(): prefer tapegrad::grad() for that.
    void backward(const Tensor& seed = {}, std::optional<bool> retain_graph = std::nullopt,
                  bool create_graph = false) const;

    std::string to_string() const;

    bool same(const Tensor& other) const noexcept { return impl_ == other.impl_; }
    TensorImpl<T>* impl() const noexcept { return impl_.get(); }
    const std::shared_ptr<TensorImpl<T>>& impl_ptr() const noexcept { return impl_; }
    explicit Tensor(std::shared_ptr<TensorImpl<T>> impl) : impl_(std::move(impl)) {}

private:
    TensorImpl<T>& checked(const char* what) const;
    std::shared_ptr<TensorImpl<T>> impl_;
};

/// What a Tensor handle shares: the value, its gradient, and the node that produced it.
template <class T>
struct TensorImpl {
    xt::xarray<T> value;
    Tensor<T> grad;
    std::shared_ptr<Node<T>> grad_fn;  // null for a leaf
    std::uint64_t version = 0;
    bool requires_grad = false;
    bool retains_grad = false;

    ~TensorImpl() { detail::give_buffer(value); }  // the buffer goes back to this thread's pool
};

using TensorF = Tensor<float>;
using TensorD = Tensor<double>;

template <class T>
std::ostream& operator<<(std::ostream& os, const Tensor<T>& t);

}  // namespace tapegrad

template <class T>
struct fmt::formatter<tapegrad::Tensor<T>> : fmt::formatter<std::string> {
    auto format(const tapegrad::Tensor<T>& t, format_context& ctx) const {
        return fmt::formatter<std::string>::format(t.to_string(), ctx);
    }
};
