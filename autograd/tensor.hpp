/// \file
/// Tensor: a shared handle to a value (an xtensor array), its gradient and the node that made it.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xarray.hpp>

#include <tapegrad/autograd/buffer_pool.hpp>
#include <tapegrad/autograd/errors.hpp>
#include <tapegrad/autograd/hooks.hpp>

namespace tapegrad {

namespace detail {
template <class T>
class Node;
struct SavedBytesCounter;
template <class T>
struct TensorImpl;
struct TensorAccess;
}  // namespace detail

static_assert(std::is_same_v<Shape, xt::xarray<double>::shape_type>, "a tensor's shape() is its value's shape");

/// The element types a Tensor may hold: float (float32) and double (float64).
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
    /// The element type: float or double.
    using value_type = T;
    /// The xtensor array that holds the value.
    using array_type = xt::xarray<T>;

    Tensor() = default;
    /// Takes (moves) an xtensor array; a leaf that requires grad when asked to.
    explicit Tensor(array_type value, bool requires_grad = false);
    /// A 0-d tensor holding one number.
    explicit Tensor(T scalar, bool requires_grad = false);
    /// From nested braces: `Tensor<double> x = {{1, 2}, {3, 4}};`. A column literal such as
    /// {{0.}, {1.}} is ambiguous in C++: build flat and reshape instead. Ragged lists (rows of
    /// different lengths) throw ShapeError. This one takes a flat list: a 1-d tensor.
    Tensor(xt::nested_initializer_list_t<T, 1> values);
    /// From two levels of braces: a matrix, one inner list per row.
    Tensor(xt::nested_initializer_list_t<T, 2> values);
    /// From three levels of braces: a 3-d tensor.
    Tensor(xt::nested_initializer_list_t<T, 3> values);
    /// From four levels of braces: a 4-d tensor.
    Tensor(xt::nested_initializer_list_t<T, 4> values);

    /// False for an undefined tensor (`Tensor()`, a gradient never computed), on which value(),
    /// shape() and the other accessors throw ValueError.
    bool defined() const noexcept { return impl_ != nullptr; }

    /// The value as an xtensor array, without a copy. Row-major and contiguous.
    const array_type& value() const;
    /// Mutable access for in-place updates (optimisers); bumps the version counter so that
    /// backward through a graph that saved this tensor before the change is refused.
    array_type& mutable_value();
    /// How many times mutable_value() was taken; saved by every node that uses this tensor.
    std::uint64_t version() const;

    /// The dimensions, e.g. [batch, features]; [] for a 0-d tensor.
    const Shape& shape() const;
    /// The number of dimensions (0 for a 0-d tensor).
    std::size_t ndim() const { return shape().size(); }
    /// The number of elements (1 for a 0-d tensor).
    std::size_t numel() const;
    /// The single value of a tensor with one element; ValueError for any other.
    T item() const;

    /// Whether gradients flow to this tensor: a leaf marked with requires_grad_(), or the output of
    /// a recorded op. False for an undefined tensor.
    bool requires_grad() const;
    /// Marks a leaf as a parameter to differentiate; throws on a non-leaf (as PyTorch).
    Tensor& requires_grad_(bool on = true);
    /// True unless a recorded op produced this tensor (made by the user, by detach() or to(), or
    /// by an op that was not recorded).
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

    // In-place updates (PyTorch's add_, mul_, ...): see add_() for the rules they share.
    /// this += alpha * other, in place (PyTorch's add_). Like every in-place update here (sub_, mul_,
    /// div_, clamp_, zero_, fill_, copy_, +=, -=, *=, /=) it changes the value where it is, bumps the
    /// version counter (so a backward through a graph that saved this tensor is refused) and returns
    /// *this, and is not recorded on the tape. With grad mode on they refuse (AutogradError) a tensor
    /// that requires grad: a leaf, as PyTorch does, and also an op's output, whose history PyTorch
    /// would rewrite and tapegrad does not (use the out-of-place op); and an operand that requires
    /// grad. Under NoGradGuard, as optimisers run, anything goes. `other` must broadcast to this
    /// tensor's shape (ShapeError naming the op and both shapes); nothing changes when a call throws.
    Tensor& add_(const Tensor& other, T alpha = T(1));
    /// this += scalar.
    Tensor& add_(T scalar);
    /// this -= alpha * other.
    Tensor& sub_(const Tensor& other, T alpha = T(1));
    /// this -= scalar.
    Tensor& sub_(T scalar);
    /// this *= other.
    Tensor& mul_(const Tensor& other);
    /// this *= scalar.
    Tensor& mul_(T scalar);
    /// this /= other.
    Tensor& div_(const Tensor& other);
    /// this /= scalar.
    Tensor& div_(T scalar);
    /// Each element limited to [low, high] (NaN stays NaN, as torch.clamp_); ValueError if low > high.
    Tensor& clamp_(T low, T high);
    /// Every element 0.
    Tensor& zero_();
    /// Every element `value`.
    Tensor& fill_(T value);
    /// Copies src's values (broadcast to this tensor's shape); src may be this tensor.
    Tensor& copy_(const Tensor& src);
    /// add_(other): `x += y` changes x in place, as in PyTorch.
    Tensor& operator+=(const Tensor& other) { return add_(other); }
    /// add_(scalar).
    Tensor& operator+=(T scalar) { return add_(scalar); }
    /// sub_(other).
    Tensor& operator-=(const Tensor& other) { return sub_(other); }
    /// sub_(scalar).
    Tensor& operator-=(T scalar) { return sub_(scalar); }
    /// mul_(other).
    Tensor& operator*=(const Tensor& other) { return mul_(other); }
    /// mul_(scalar).
    Tensor& operator*=(T scalar) { return mul_(scalar); }
    /// div_(other).
    Tensor& operator/=(const Tensor& other) { return div_(other); }
    /// div_(scalar).
    Tensor& operator/=(T scalar) { return div_(scalar); }

    /// Registers `hook`, called with the gradient with respect to this tensor once it is complete for
    /// the pass (PyTorch's Tensor.register_hook): for an op's output, the sum of every contribution,
    /// before the op's backward rule uses it; for a leaf, before it is added to .grad(); also for
    /// the inputs of grad(), whose result it changes. A defined result replaces the gradient (it must
    /// have the gradient's shape: ShapeError naming the hook); an undefined one (`return {};`) keeps
    /// it. Hooks run in registration order, each seeing the previous one's result, and once per pass
    /// (a leaf's contributions are summed first). Under create_graph the gradient a hook sees is
    /// itself differentiable and what the hook computes is recorded. Return a new tensor rather than
    /// changing `grad` in place (it may be shared). A hook that throws aborts the pass, which then
    /// changes no .grad(). A hook may not start a backward or grad() (AutogradError: the engine is
    /// not reentrant, PyTorch's is). An op's output keeps its hooks in its node, so they run even
    /// after the handle is dropped, as PyTorch keeps them on grad_fn. Throws AutogradError when the
    /// tensor does not require grad (as PyTorch), ValueError when it is undefined. Returns the handle
    /// that removes the hook.
    HookHandle register_hook(std::function<Tensor(const Tensor& grad)> hook);
    /// Registers `hook`, called with this leaf once its .grad() is final for a backward (PyTorch's
    /// register_post_accumulate_grad_hook): as soon as the last gradient reaching the leaf has been
    /// added, during the walk, so the hook of a first layer's weight runs after the last layer's and
    /// can start work (an allreduce) that overlaps with the rest of the backward. Not run by grad(),
    /// which accumulates nothing. If the pass throws afterwards, the leaf's .grad() is restored to what
    /// it was before the pass (what the hook did with it meanwhile stays done). While at least one
    /// such hook exists in the process, every backward counts each hooked leaf's incoming edges
    /// first (one walk over the graph); otherwise backward pays nothing. Throws AutogradError for a
    /// non-leaf or a tensor that does not require grad (as PyTorch), ValueError when undefined.
    HookHandle register_post_accumulate_grad_hook(std::function<void(Tensor& leaf)> hook);

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

    /// "Tensor(float32, shape=[2, 3], requires_grad)" (or `grad_fn=<op>`) and then the values, as
    /// operator<< and fmt print it; "Tensor(undefined)" for an undefined tensor.
    std::string to_string() const;

    /// True when both handles share one state, i.e. one is a copy of the other (torch's is_same).
    bool same(const Tensor& other) const noexcept { return impl_ == other.impl_; }
    /// The identity of the shared state (null when undefined): equal for handles that are
    /// same(), and stable for the state's lifetime, so it can key a set of distinct tensors.
    const void* id() const noexcept { return impl_.get(); }

private:
    friend struct detail::TensorAccess;
    explicit Tensor(std::shared_ptr<detail::TensorImpl<T>> impl) : impl_(std::move(impl)) {}
    detail::TensorImpl<T>& checked(const char* what) const;
    // The shared checks and the version bump of every in-place update; f(value, other's value or null).
    template <class F>
    Tensor& update(const char* op, const Tensor* other, F f);
    std::shared_ptr<detail::TensorImpl<T>> impl_;
};

namespace detail {

/// A forward-mode tangent (tapegrad::fwad) and the dual level it belongs to.
template <class T>
struct TangentSlot {
    std::uint64_t level;  ///< The DualLevel's number (levels are numbered from 1, never reused).
    Tensor<T> tangent;    ///< Same shape as the tensor that holds it.
};

/// What a Tensor handle shares: the value, its gradient, and the node that produced it. Only the
/// engine (through TensorAccess) sees it; users see Tensor's methods.
template <class T>
struct TensorImpl {
    /// Takes the value (a default xarray would allocate its one 0-d element first).
    TensorImpl(xt::xarray<T>&& v, bool wants_grad) : value(std::move(v)), requires_grad(wants_grad) {}
    /// What Tensor::value() returns.
    xt::xarray<T> value;
    /// The accumulated gradient; undefined until computed.
    Tensor<T> grad;
    std::shared_ptr<Node<T>> grad_fn;  ///< The node that produced the value; null for a leaf.
    /// Bumped by every Tensor::mutable_value().
    std::uint64_t version = 0;
    /// Set by requires_grad_() on a leaf, by record() on an output.
    bool requires_grad = false;
    /// Set by retain_grad(): a non-leaf keeps its gradient.
    bool retains_grad = false;
    /// A leaf's hooks (an op's output keeps them in its node); null while it has none.
    std::shared_ptr<TensorHooks<T>> hooks;
    /// How many live nodes saved this (non-leaf) tensor as an input, the bytes Tape::saved_bytes()
    /// counted for it when the first did, and the count of the thread that did: the last node to let
    /// go gives the bytes back there, on whichever thread it is freed.
    std::uint32_t saved_by = 0;
    std::size_t saved_bytes = 0;
    std::shared_ptr<SavedBytesCounter> saved_counter;
    /// Forward-mode tangents, one per dual level that gave this tensor one (tapegrad::fwad); empty,
    /// and allocation-free, for every tensor made while no DualLevel is open.
    std::vector<TangentSlot<T>> tangents;

    ~TensorImpl() { give_buffer(value); }  // the buffer goes back to this thread's pool
};

/// The engine's access to a tensor's shared state (record(), nodes, the backward engine): the one
/// friend of Tensor, so that the state stays out of the public interface.
struct TensorAccess {
    template <class T>
    static TensorImpl<T>* impl(const Tensor<T>& t) noexcept {
        return t.impl_.get();
    }
    template <class T>
    static const std::shared_ptr<TensorImpl<T>>& impl_ptr(const Tensor<T>& t) noexcept {
        return t.impl_;
    }
    template <class T>
    static Tensor<T> wrap(std::shared_ptr<TensorImpl<T>> impl) {
        return Tensor<T>(std::move(impl));
    }
};

}  // namespace detail

/// A float32 tensor, for training.
using TensorF = Tensor<float>;
/// A float64 tensor, for checking gradients.
using TensorD = Tensor<double>;

/// Prints to_string(): the dtype, shape, grad state and values.
template <class T>
std::ostream& operator<<(std::ostream& os, const Tensor<T>& t);

}  // namespace tapegrad

/// \cond
// Lets fmt print tensors: `fmt::format("{}", t)` gives t.to_string(). Left out of the API
// reference: Doxygen cannot place a specialisation inside fmt's namespace.
template <class T>
struct fmt::formatter<tapegrad::Tensor<T>> : fmt::formatter<std::string> {
    auto format(const tapegrad::Tensor<T>& t, format_context& ctx) const {
        return fmt::formatter<std::string>::format(t.to_string(), ctx);
    }
};
/// \endcond
