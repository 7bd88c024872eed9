/// \file
/// Recording an op: record() wraps its eagerly computed value as the output tensor and puts a
/// node holding its inputs and backward rule on the tape; the rule sees a Backward context and
/// returns Grads. What an op author (and <tapegrad/ops/extension.hpp>) needs from the engine.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include <xtensor/xstorage.hpp>

#include <tapegrad/autograd/anomaly_mode.hpp>
#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/autograd/small_pool.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// The gradients a backward rule returns, one per input of its op: a std::vector whose storage
/// comes from a per-thread pool, so a training step does not call malloc for it.
template <class T>
using Grads = std::vector<Tensor<T>, detail::PoolAllocator<Tensor<T>>>;

template <class T>
class Backward;

template <class T>
class Forward;

/// A backward rule stored as a std::function, for code that keeps rules in variables; record()
/// takes any callable `Grads<T>(const Backward<T>&)`, and a lambda passed directly is stored
/// without the std::function's heap allocation.
template <class T>
using BackwardFn = std::function<Grads<T>(const Backward<T>&)>;

namespace detail {

template <class T>
class Engine;

/// Untyped part of a node, so that one tape can hold float and double ops.
class NodeBase {
public:
    /// A node for the op `name` (a string literal: it is kept, not copied).
    NodeBase(const char* name, bool is_double) : name_(name), is_double_(is_double) {}
    virtual ~NodeBase() = default;
    NodeBase(const NodeBase&) = delete;
    NodeBase& operator=(const NodeBase&) = delete;
    /// The op's name, e.g. "matmul": what Tensor::grad_fn_name() and error messages show.
    const char* name() const noexcept { return name_; }
    /// The node's position on its thread's tape; later nodes have larger numbers.
    std::uint64_t sequence() const noexcept { return sequence_; }
    /// True for a float64 op, false for a float32 one.
    bool is_double() const noexcept { return is_double_; }
    /// True once a backward without retain_graph has freed the inputs and rule it saved.
    bool released() const noexcept { return released_; }

private:
    friend struct NodeAccess;
    const char* name_;
    std::uint64_t sequence_ = 0;  // creation order: reverse order is a topological order
    bool is_double_;
    bool released_ = false;
};

/// What record() and the engine set on a node: its tape position, its release.
struct NodeAccess {
    static void set_sequence(NodeBase& node, std::uint64_t sequence) noexcept { node.sequence_ = sequence; }
    static void mark_released(NodeBase& node) noexcept { node.released_ = true; }
};

/// One recorded op: its inputs (saved, with their versions, for the backward rule) and the rule.
/// Owned by the op's output tensor and held weakly by the tape.
template <class T>
class Node : public NodeBase {
public:
    /// Saves the inputs and their versions.
    Node(const char* name, Grads<T> inputs);
    ~Node() override;

    /// The op's inputs, in the order given to record() (emptied when the node is released).
    const Grads<T>& inputs() const noexcept { return inputs_; }
    /// The hooks of the op's output (Tensor::register_hook on a non-leaf); null while it has none.
    std::shared_ptr<TensorHooks<T>>& hooks() noexcept { return hooks_; }
    /// The version each input had when the op was recorded, in inputs() order: an input whose
    /// version() differs now was changed in place since, and backward will refuse this node.
    const xt::svector<std::uint64_t, 4>& input_versions() const noexcept { return input_versions_; }
    /// The op's output (undefined once it is gone: the node holds it weakly, the output owns the node).
    Tensor<T> output() const { return TensorAccess::wrap<T>(output_.lock()); }

protected:
    /// Runs the stored rule.
    virtual Grads<T> apply(const Backward<T>& ctx) const = 0;
    /// Destroys the stored rule (and what it captured).
    virtual void drop_rule() noexcept = 0;

private:
    template <class>
    friend class tapegrad::Backward;
    template <class>
    friend class Engine;
    template <class U>
    friend void attach(Tensor<U>&, std::shared_ptr<Node<U>>);
    friend struct DualAccess;  // forward mode runs a rule with a seed of its own (forward_ad.cpp)

    Grads<T> inputs_;
    xt::svector<std::uint64_t, 4> input_versions_;  // inline for up to 4 inputs: no allocation per op
    std::weak_ptr<TensorImpl<T>> output_;           // weak: the output owns its node, not the reverse
    std::uint64_t output_version_ = 0;
    Tensor<T> grad_;  // gradient flowing into the output during a backward pass
    // The output's hooks live here, not in the output, so they run after its handles are dropped.
    std::shared_ptr<TensorHooks<T>> hooks_;

    void release();  // drop saved inputs and the rule once backward has used them
};

/// A node with its rule stored inline: node, rule and shared_ptr control block are one block from
/// the small pool, where a std::function would have allocated the closure separately.
template <class T, class F>
class RuleNode final : public Node<T> {
public:
    RuleNode(const char* name, Grads<T> inputs, F rule) : Node<T>(name, std::move(inputs)), rule_(std::move(rule)) {}

private:
    Grads<T> apply(const Backward<T>& ctx) const override { return (*rule_)(ctx); }
    void drop_rule() noexcept override { rule_.reset(); }
    std::optional<F> rule_;
};

/// The untyped half of record(), compiled once: the anomaly scan of the forward value.
template <class T>
void check_forward(const char* name, const Grads<T>& inputs, const xt::xarray<T>& value);

/// Whether an op with these inputs is recorded (grad mode on and some input requires grad);
/// ValueError naming the op for an undefined input.
template <class T>
bool needs_node(const char* name, const Grads<T>& inputs);

/// Makes `node` the producer of `out` and appends it to this thread's tape.
template <class T>
void attach(Tensor<T>& out, std::shared_ptr<Node<T>> node);

/// True while a forward-mode DualLevel is open on this thread (tapegrad::fwad): the one test
/// record() adds to an op when none is.
bool dual_level_open() noexcept;

/// A reference to a backward rule of any type, so the forward-mode code is compiled once.
template <class T>
struct RuleRef {
    const void* rule;                                        ///< The rule object.
    Grads<T> (*call)(const void* rule, const Backward<T>&);  ///< Calls it.
};

/// A reference to a tangent rule (a callable `Tensor<T>(const Forward<T>&)`).
template <class T>
struct TangentRef {
    const void* rule;                                        ///< The rule object.
    Tensor<T> (*call)(const void* rule, const Forward<T>&);  ///< Calls it.
};

/// No tangent rule: forward mode derives the tangent from the backward rule.
struct NoTangentRule {};

/// Gives `out` its tangent at the open dual level when some input has one: `jvp` when the op has a
/// tangent rule (null otherwise), else the generic rule built from the backward rule `rule`.
template <class T>
void propagate_tangent(const char* name, const Grads<T>& inputs, Tensor<T>& out, RuleRef<T> rule,
                       const TangentRef<T>* jvp);

template <class T, class F, class J = NoTangentRule>
Tensor<T> record_inputs(const char* name, Grads<T> inputs, xt::xarray<T> value, F&& fn, const J& jvp = {}) {
    static_assert(std::is_invocable_r_v<Grads<T>, F&, const Backward<T>&>,
                  "a backward rule is callable as Grads<T>(const Backward<T>&)");
    if (is_anomaly_enabled()) check_forward(name, inputs, value);
    Tensor<T> out(std::move(value));
    const bool recorded = needs_node(name, inputs);
    constexpr bool own_rule = !std::is_same_v<J, NoTangentRule>;
    // The generic rule runs the backward rule, so before the node takes it; it must not see the
    // output's history anyway. An own rule runs after, so that its tangent is differentiable
    // through the output too.
    if constexpr (!own_rule) {
        if (dual_level_open()) [[unlikely]] {
            const RuleRef<T> rule{&fn, [](const void* f, const Backward<T>& ctx) -> Grads<T> {
                                      return (*static_cast<const std::decay_t<F>*>(f))(ctx);
                                  }};
            propagate_tangent<T>(name, inputs, out, rule, nullptr);
        }
    }
    if (recorded) {
        using Stored = RuleNode<T, std::decay_t<F>>;
        attach<T>(out,
                  std::allocate_shared<Stored>(PoolAllocator<Stored>{}, name, std::move(inputs), std::forward<F>(fn)));
    }
    if constexpr (own_rule) {
        static_assert(std::is_invocable_r_v<Tensor<T>, const J&, const Forward<T>&>,
                      "a tangent rule is callable as Tensor<T>(const Forward<T>&)");
        if (dual_level_open()) [[unlikely]] {
            const TangentRef<T> tangent{&jvp, [](const void* f, const Forward<T>& ctx) -> Tensor<T> {
                                            return (*static_cast<const J*>(f))(ctx);
                                        }};
            // The inputs moved into the node when it was made.
            const Grads<T>& saved = recorded ? TensorAccess::impl(out)->grad_fn->inputs() : inputs;
            propagate_tangent<T>(name, saved, out, RuleRef<T>{nullptr, nullptr}, &tangent);
        }
    }
    return out;
}

}  // namespace detail

/// What a backward rule sees: the incoming gradient, the op's inputs and its output.
template <class T>
class Backward {
public:
    /// Made by the engine for each rule it runs. `leads`, when given, holds one flag per input:
    /// whether a gradient for it reaches a tensor grad() was asked for (null: every input does).
    Backward(const detail::Node<T>& node, Tensor<T> output, const std::uint8_t* leads = nullptr)
        : node_(node), output_(std::move(output)), leads_(leads) {}
    /// Gradient of the loss with respect to the op's output (the output's shape).
    const Tensor<T>& grad() const noexcept { return node_.grad_; }
    /// Input i of the op, as given to record(); std::out_of_range past the last.
    const Tensor<T>& input(std::size_t i) const { return node_.inputs_.at(i); }
    /// The op's output, for rules written with it (sigmoid' = y (1 - y)).
    const Tensor<T>& output() const noexcept { return output_; }
    /// Whether input i needs a gradient; rules skip the others. It needs one when it requires grad
    /// and, under grad(), when its gradient leads to a requested input (as torch.autograd.grad
    /// computes only those): the engine drops any other gradient a rule returns.
    bool needs(std::size_t i) const { return node_.inputs_.at(i).requires_grad() && (!leads_ || leads_[i]); }

private:
    const detail::Node<T>& node_;
    Tensor<T> output_;
    const std::uint8_t* leads_;
};

/// What a tangent (forward-mode, jvp) rule sees: the op's inputs, their tangents at the open dual
/// level and the op's output. The rule returns the output's tangent sum_i (d out / d input_i)
/// tangent_i, written in tapegrad's own ops (so it is recorded, and forward-over-reverse works),
/// undefined for zero; it may return a shape that broadcasts to the output's.
template <class T>
class Forward {
public:
    /// Made by forward mode for each tangent rule it runs.
    Forward(const Grads<T>& inputs, const Grads<T>& tangents, const Tensor<T>& output)
        : inputs_(inputs), tangents_(tangents), output_(output) {}
    /// How many inputs the op has.
    std::size_t count() const noexcept { return inputs_.size(); }
    /// Input i of the op, as given to record(); std::out_of_range past the last.
    const Tensor<T>& input(std::size_t i) const { return inputs_.at(i); }
    /// The tangent of input i (its shape); undefined when it has none (a zero tangent).
    const Tensor<T>& tangent(std::size_t i) const { return tangents_.at(i); }
    /// Whether input i has a tangent; rules skip the others.
    bool has(std::size_t i) const { return tangents_.at(i).defined(); }
    /// The op's output, for rules written with it (d exp(x) = exp(x) dx).
    const Tensor<T>& output() const noexcept { return output_; }

private:
    const Grads<T>& inputs_;
    const Grads<T>& tangents_;
    const Tensor<T>& output_;
};

/// Wraps an op's eagerly computed value as its output tensor and, when grad mode is on and some
/// input requires grad, records a node on the thread's tape with the backward rule `fn` (any
/// callable `Grads<T>(const Backward<T>&)`): `record<T>("mul", {a, b}, value, rule)`. With grad
/// mode off (inference, and every backward without create_graph) it only wraps the value.
template <class T, class F>
Tensor<T> record(const char* name, std::initializer_list<Tensor<T>> inputs, xt::xarray<T> value, F&& fn) {
    if (!is_grad_enabled() && !is_anomaly_enabled() && !detail::dual_level_open()) return Tensor<T>(std::move(value));
    return detail::record_inputs<T>(name, Grads<T>(inputs), std::move(value), std::forward<F>(fn));
}

/// The same with a tangent rule `jvp` (any callable `Tensor<T>(const Forward<T>&)`) for forward
/// mode; record() without one derives the tangent from the backward rule, at about twice the
/// backward rule's cost and without a graph (tapegrad's own ops all have one).
template <class T, class F, class J>
Tensor<T> record(const char* name, std::initializer_list<Tensor<T>> inputs, xt::xarray<T> value, F&& fn, const J& jvp) {
    if (!is_grad_enabled() && !is_anomaly_enabled() && !detail::dual_level_open()) return Tensor<T>(std::move(value));
    return detail::record_inputs<T>(name, Grads<T>(inputs), std::move(value), std::forward<F>(fn), jvp);
}

/// The same for a list of inputs built at run time (concat's).
template <class T, class F>
Tensor<T> record(const char* name, const std::vector<Tensor<T>>& inputs, xt::xarray<T> value, F&& fn) {
    if (!is_grad_enabled() && !is_anomaly_enabled() && !detail::dual_level_open()) return Tensor<T>(std::move(value));
    return detail::record_inputs<T>(name, Grads<T>(inputs.begin(), inputs.end()), std::move(value),
                                    std::forward<F>(fn));
}

/// The same with a tangent rule `jvp` (concat's).
template <class T, class F, class J>
Tensor<T> record(const char* name, const std::vector<Tensor<T>>& inputs, xt::xarray<T> value, F&& fn, const J& jvp) {
    if (!is_grad_enabled() && !is_anomaly_enabled() && !detail::dual_level_open()) return Tensor<T>(std::move(value));
    return detail::record_inputs<T>(name, Grads<T>(inputs.begin(), inputs.end()), std::move(value), std::forward<F>(fn),
                                    jvp);
}

}  // namespace tapegrad
