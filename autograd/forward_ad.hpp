/// \file
/// Forward-mode automatic differentiation with dual tensors (torch.autograd.forward_ad): inside a
/// DualLevel, make_dual() gives a tensor a tangent v, every op then computes its output's tangent
/// J v alongside its value, and unpack_dual() reads it back.
#pragma once

#include <cstdint>

#include <tapegrad/autograd/node.hpp>
#include <tapegrad/autograd/tensor.hpp>

/// Forward-mode AD (PyTorch's torch.autograd.forward_ad, imported there as fwAD).
///
/// How it works: a tensor carries, besides its value, a tangent per open dual level (none by
/// default). When a level is open, every recorded op whose inputs carry tangents gives its output
/// the tangent sum_i (d out / d input_i) tangent_i by the op's own tangent rule: every built-in op
/// has one, written as math in its doc comment ("tangent: dy = ..."), and so do the ops backward
/// rules record (forward over reverse runs them). An op recorded without one (a user's custom op)
/// gets the generic rule J v = d/du (J^T u . v), two calls of its backward rule with a seed u (of
/// ones: the derivative is the same at every u). Tangent rules are tapegrad ops, recorded when grad
/// mode is on, so forward-over-reverse works (the jvp of a gradient is a Hessian-vector product) and
/// tangents are themselves differentiable; the generic rule's are not (they carry no graph).
/// gradcheck's check_forward_ad checks a custom op's tangent rule against finite differences.
///
/// As in PyTorch: one level at a time (a second DualLevel throws), tangents of a level are dropped
/// when it closes, detach() drops the tangent. Differences: levels and tangents are per thread (as
/// tapegrad's tape and grad mode); make_dual and unpack_dual return copies of the primal's value
/// (tapegrad has no views); in-place updates of a tensor that has a tangent, or with an operand
/// that has one, are refused (AutogradError) while the level is open.
namespace tapegrad::fwad {

/// A forward-mode level for a scope (PyTorch's `with fwAD.dual_level():`): entering opens it, leaving
/// it (also by an exception) drops every tangent made in it, so tensors outlive it without tangents.
/// One level at a time per thread: constructing a second while one is open throws AutogradError, as
/// PyTorch does ("nested forward mode AD is not supported").
class DualLevel {
public:
    /// Opens a level on this thread; AutogradError when one is already open.
    DualLevel();
    /// Closes the level and drops its tangents.
    ~DualLevel();
    DualLevel(const DualLevel&) = delete;
    DualLevel& operator=(const DualLevel&) = delete;
    /// The level's number (from 1, never reused on a thread).
    std::uint64_t level() const noexcept { return level_; }

private:
    std::uint64_t level_;
};

/// The level open on this thread, 0 when none (PyTorch's _current_level, -1 there).
std::uint64_t current_level() noexcept;

/// A tensor with `primal`'s value and `tangent` as its tangent at the open level (PyTorch's
/// fwAD.make_dual). The result is a new tensor holding a copy of the primal's value; gradients flow
/// through it to `primal` (it is recorded as an identity op), and its tangent is `tangent` itself
/// (not copied). Throws ValueError outside a DualLevel, for an undefined argument, for a primal that
/// already has a tangent at this level (take unpack_dual(t).primal first) or a tangent that has one
/// of its own; ShapeError naming both shapes when they differ.
template <class T>
Tensor<T> make_dual(const Tensor<T>& primal, const Tensor<T>& tangent);

/// What unpack_dual() returns (PyTorch's UnpackedDualTensor).
template <class T>
struct UnpackedDual {
    Tensor<T> primal;   ///< The value without its tangent.
    Tensor<T> tangent;  ///< The tangent at the open level; undefined when there is none.
};

/// Splits `t` into its primal and its tangent at the open level (PyTorch's fwAD.unpack_dual). With a
/// tangent, the primal is a new tensor (a copy of the value, recorded as an identity op so gradients
/// flow to `t`) without the tangent; without one (or outside a level), the primal is `t` itself and
/// the tangent is undefined. ValueError when `t` is undefined.
template <class T>
UnpackedDual<T> unpack_dual(const Tensor<T>& t);

}  // namespace tapegrad::fwad

namespace tapegrad::detail {

/// Whether `impl` has a tangent at the level open on this thread (false when none is open): what the
/// in-place updates test before refusing.
template <class T>
bool has_open_tangent(const TensorImpl<T>& impl) noexcept;

/// t's tangent at the open level, undefined when it has none or no level is open (unpack_dual's
/// tangent, without the copy of the primal).
template <class T>
Tensor<T> open_tangent(const Tensor<T>& t);

/// Gives `t` (which has none) `tangent` as its tangent at the open level; nothing when no level is
/// open or `tangent` is undefined. For an op whose forward computed its output's tangent itself:
/// checkpoint, whose fn ran in forward mode on the segment's inputs.
template <class T>
void set_open_tangent(Tensor<T>& t, Tensor<T> tangent);

/// How many function transforms (tapegrad::func) this thread has started on a primal with a tangent
/// at the open level. A transform works on detached copies of its primals and so drops their
/// tangents: func::jvp and jacfwd, which run f in forward mode, compare the count before and after
/// f and, when it moved, compute again by the double-vjp construction.
std::uint64_t& transforms_on_duals() noexcept;

/// How many tangents this thread has computed by the generic rule (from an op's backward rule, for
/// ops recorded without a tangent rule of their own: custom ops). The op table's forward-mode test
/// reads it to show that every built-in op has its own rule.
std::uint64_t& generic_tangent_uses() noexcept;

}  // namespace tapegrad::detail
