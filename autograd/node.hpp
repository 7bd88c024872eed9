/// \file
/// A node of the tape: one recorded op, its inputs, and the rule that maps its output's
/// gradient to its inputs' gradients. Ops create nodes through record().
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <vector>

#include <xtensor/xstorage.hpp>

#include <tapegrad/autograd/anomaly_mode.hpp>
#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// The gradients a backward rule returns, one per input of its op.
template <class T>
using Grads = std::vector<Tensor<T>>;

template <class T>
class Backward;

/// A backward rule: one gradient per input (undefined where not needed). Pure: it never
/// mutates its inputs or the tape; the engine un-broadcasts, validates and accumulates.
template <class T>
using BackwardFn = std::function<Grads<T>(const Backward<T>&)>;

/// Untyped part of a node, so that one tape can hold float and double ops.
class NodeBase {
public:
    /// A node for the op `name` (a string literal: it is kept, not copied) at tape position `sequence`.
    NodeBase(const char* name, std::uint64_t sequence, bool is_double)
        : name_(name), sequence_(sequence), is_double_(is_double) {}
    virtual ~NodeBase() = default;
    /// The op's name, e.g. "matmul": what Tensor::grad_fn_name() and error messages show.
    const char* name() const noexcept { return name_; }
    /// The node's position on its thread's tape; later nodes have larger numbers.
    std::uint64_t sequence() const noexcept { return sequence_; }
    /// True for a float64 op, false for a float32 one.
    bool is_double() const noexcept { return is_double_; }
    /// True once a backward without retain_graph has freed the inputs and rule it saved.
    bool released() const noexcept { return released_; }

protected:
    /// The op's name (name()).
    const char* name_;
    std::uint64_t sequence_;  ///< creation order: reverse order is a topological order
    /// True for a float64 op (is_double()).
    bool is_double_;
    /// Set when the saved inputs and rule are freed (released()).
    bool released_ = false;
};

/// One recorded op: its inputs (saved, with their versions, for the backward rule) and the rule.
/// Owned by the op's output tensor and held weakly by the tape. record() makes nodes; user code
/// writes backward rules, never nodes.
template <class T>
class Node : public NodeBase {
public:
    /// Made by record(), which also puts the node on the tape.
    Node(const char* name, std::uint64_t sequence, std::vector<Tensor<T>> inputs, BackwardFn<T> fn);
    ~Node() override;
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    /// The op's inputs, in the order given to record() (emptied when the node is released).
    const std::vector<Tensor<T>>& inputs() const noexcept { return inputs_; }

private:
    template <class>
    friend class Backward;
    template <class>
    friend class Engine;
    template <class U>
    friend Tensor<U> record(const char*, std::vector<Tensor<U>>, xt::xarray<U>, BackwardFn<U>);

    std::vector<Tensor<T>> inputs_;
    xt::svector<std::uint64_t, 4> input_versions_;  // inline for up to 4 inputs: no allocation per op
    std::weak_ptr<detail::TensorImpl<T>> output_;   // weak: the output owns its node, not the reverse
    std::uint64_t output_version_ = 0;
    BackwardFn<T> backward_;
    Tensor<T> grad_;  // gradient flowing into the output during a backward pass

    void release();  // drop saved inputs and the rule once backward has used them
};

/// What a backward rule sees: the incoming gradient, the op's inputs and its output.
template <class T>
class Backward {
public:
    /// Made by the engine for each rule it runs.
    Backward(const Node<T>& node, Tensor<T> output) : node_(node), output_(std::move(output)) {}
    /// Gradient of the loss with respect to the op's output (the output's shape).
    const Tensor<T>& grad() const noexcept { return node_.grad_; }
    /// Input i of the op, as given to record(); std::out_of_range past the last.
    const Tensor<T>& input(std::size_t i) const { return node_.inputs_.at(i); }
    /// The op's output, for rules written with it (sigmoid' = y (1 - y)).
    const Tensor<T>& output() const noexcept { return output_; }
    /// Whether input i needs a gradient; rules skip the others.
    bool needs(std::size_t i) const { return node_.inputs_.at(i).requires_grad(); }

private:
    const Node<T>& node_;
    Tensor<T> output_;
};

/// Wraps an op's eagerly computed value as its output tensor and, when grad mode is on and
/// some input requires grad, records a node on the thread's tape with the backward rule.
template <class T>
Tensor<T> record(const char* name, std::vector<Tensor<T>> inputs, xt::xarray<T> value, BackwardFn<T> fn);

/// The same for a braced list of inputs, `record<T>("mul", {a, b}, value, rule)`: with grad mode
/// off (inference, and every backward without create_graph) it only wraps the value, building
/// neither the input list nor the std::function.
template <class T, class F>
Tensor<T> record(const char* name, std::initializer_list<Tensor<T>> inputs, xt::xarray<T> value, F&& fn) {
    if (!is_grad_enabled() && !is_anomaly_enabled()) return Tensor<T>(std::move(value));
    return record<T>(name, std::vector<Tensor<T>>(inputs), std::move(value), BackwardFn<T>(std::forward<F>(fn)));
}

}  // namespace tapegrad
