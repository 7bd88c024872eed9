/// \file
/// Optimizer: the base of SGD, Adam and AdamW (torch::optim::Optimizer), with one parameter group.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad::optim {

/// The part of an optimiser a learning-rate schedule needs, independent of the dtype.
class OptimizerBase {
public:
    virtual ~OptimizerBase() = default;
    /// "SGD", "Adam", "AdamW": names the optimiser in error messages.
    virtual std::string name() const = 0;
    /// The current learning rate (what schedules change).
    double lr() const noexcept { return lr_; }
    /// Throws ValueError for a negative or non-finite lr.
    void set_lr(double lr);

protected:
    /// Starts at learning rate `lr`, which Optimizer's constructor checks.
    explicit OptimizerBase(double lr) : lr_(lr) {}
    /// The current learning rate: lr(), set by set_lr() and the schedules.
    double lr_;
};

/// Updates a fixed list of parameters (leaves that require grad) from their .grad().
///
/// step() runs under NoGradGuard and writes each parameter in place through mutable_value();
/// a parameter whose gradient is undefined (never reached by backward, or zero_grad'ed) is
/// skipped and its state left alone, as PyTorch skips grad None.
///
/// The optimiser records each parameter's shape when it is built (its state has that shape).
/// step() and load_state() first check every parameter, then change anything: a parameter whose
/// value has since taken another shape is a ValueError naming the optimiser, the parameter's
/// index and both shapes; a gradient of another shape than its parameter is a ShapeError.
///
/// Checkpoint state: state() lists (name, tensor) pairs, copies of the optimiser's state:
/// - `lr`: 0-d, the current learning rate;
/// - `<buffer>.<i>`: a per-parameter buffer for parameter i of parameters() (the same order as the
///   model's parameters()), with that parameter's shape;
/// - `step.<i>`: 0-d, how many updates parameter i has had (Adam, AdamW).
/// Buffers appear only once created (after the parameter's first update). load_state() takes
/// such a list back: it replaces all state, and throws ValueError for an unknown name, an index
/// out of range, a buffer whose shape differs from its parameter's, or an incomplete set.
template <class T = float>
class Optimizer : public OptimizerBase {
public:
    /// (name, tensor) pairs, as state() returns and load_state() takes them (see above).
    using State = std::vector<std::pair<std::string, Tensor<T>>>;

    /// One update of every parameter that has a gradient: checks every parameter's shape (see
    /// above), then update(i) for each parameter i whose gradient is defined, under NoGradGuard.
    virtual void step();
    /// Drops every parameter's gradient (set_to_none, PyTorch's default).
    void zero_grad();
    /// The parameters, in the order given: the indices of state() entries refer to it.
    const std::vector<Tensor<T>>& parameters() const noexcept { return params_; }

    /// Copies of the lr and of every buffer made so far, for checkpoints (see above).
    State state() const;
    /// Replaces all state with a state() list; ValueError, changing nothing, for an unknown name,
    /// an index out of range, a buffer whose shape differs from its parameter's, or an incomplete set.
    void load_state(const State& state);

protected:
    /// Updates parameter i, whose gradient is defined and whose shapes step() has checked.
    virtual void update(std::size_t i) = 0;
    /// Copies of every per-parameter buffer made so far (state() adds "lr").
    virtual State buffers() const = 0;
    /// Replaces every per-parameter buffer with these state() entries (all but "lr"), or throws
    /// ValueError changing nothing; the parameters' shapes are already checked.
    virtual void load_buffers(const State& buffers) = 0;

    /// Throws ValueError for an empty list, an undefined tensor, a non-leaf, one that does not
    /// require grad, or a tensor given twice (a tied weight is one parameter: pass it once).
    Optimizer(std::vector<Tensor<T>> params, double lr, const char* name);

    /// Throws (see the class comment) unless every parameter still has its recorded shape (and,
    /// with `gradients`, every defined gradient has it too); `method` names the caller.
    void check_shapes(const char* method, bool gradients) const;

    /// Splits "exp_avg.3" into ("exp_avg", 3), checking the index against the parameters;
    /// throws ValueError naming the optimiser and the entry otherwise.
    std::pair<std::string, std::size_t> parse_state_name(const std::string& entry) const;
    /// Checks that a state buffer has parameter i's recorded shape.
    void check_buffer(const std::string& entry, const Tensor<T>& buffer, std::size_t i) const;
    /// The parameters, in the order given (parameters()).
    std::vector<Tensor<T>> params_;
    std::vector<Shape> shapes_;  ///< each parameter's shape when the optimiser was built
};

/// Throws ValueError `"<optimizer>: <option> is <value>; it must be <rule>"` unless ok.
void check_option(bool ok, const char* optimizer, const char* option, double value, const char* rule);

}  // namespace tapegrad::optim
