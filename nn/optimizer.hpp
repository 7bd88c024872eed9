/// \file
/// Optimizer: the base of SGD, Adam, AdamW, RMSprop and Adagrad (torch.optim.Optimizer), with
/// parameter groups.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad::optim {

/// The part of an optimiser that learning-rate schedules need, independent of the dtype: one lr
/// per parameter group (torch.optim's `param_group['lr']`), and the option OneCycleLR cycles.
class OptimizerBase {
public:
    virtual ~OptimizerBase() = default;
    /// "SGD", "Adam", "AdamW", "RMSprop", "Adagrad": names the optimiser in error messages.
    virtual std::string name() const = 0;
    /// How many parameter groups there are (1 for an optimiser built from one list).
    std::size_t num_groups() const noexcept { return lrs_.size(); }
    /// The current learning rate of a group (group 0 by default); ValueError for a group out of range.
    double lr(std::size_t group = 0) const;
    /// The current learning rate of every group.
    const std::vector<double>& lrs() const noexcept { return lrs_; }
    /// Sets every group's lr. ValueError, changing nothing, for a negative or non-finite lr.
    void set_lr(double lr);
    /// Sets one group's lr (`param_groups[group]['lr'] = lr`). ValueError, changing nothing, for a
    /// group out of range or a negative or non-finite lr.
    void set_lr(std::size_t group, double lr);
    /// Sets every group's lr, one value per group. ValueError, changing nothing, for another count
    /// or a negative or non-finite value.
    void set_lrs(const std::vector<double>& lrs);

    /// PyTorch's `param_group['initial_lr']`: the lrs the schedules built on this optimiser scale
    /// from. The first schedule built records the lrs of that moment (later ones reuse them, as
    /// PyTorch's `setdefault`); until then, the current lrs.
    std::vector<double> initial_lrs() const { return initial_lrs_.empty() ? lrs_ : initial_lrs_; }
    /// Records the initial lrs (as OneCycleLR does, from max_lr / div_factor). ValueError, changing
    /// nothing, for another count than num_groups() or a negative or non-finite value.
    void set_initial_lrs(const std::vector<double>& lrs);

    /// The option OneCycleLR cycles: "momentum" (SGD, RMSprop), "beta1" (Adam, AdamW), or empty when
    /// there is none (Adagrad).
    virtual std::string momentum_name() const { return {}; }
    /// The current value of momentum_name() in a group; ValueError when there is none.
    virtual double momentum(std::size_t group) const;
    /// Sets momentum_name() in every group, one value per group. ValueError, changing nothing, when
    /// there is none, for another count, or for a value the group's options refuse.
    virtual void set_momenta(const std::vector<double>& values);
    /// Throws the ValueError set_momenta would throw for `value` in `group`, changing nothing.
    virtual void check_momentum(std::size_t group, double value) const;

protected:
    /// Starts with these per-group lrs, which the derived constructor has checked.
    explicit OptimizerBase(std::vector<double> lrs) : lrs_(std::move(lrs)) {}
    /// ValueError naming the optimiser and `method` unless `group` < num_groups().
    void check_group(const char* method, std::size_t group) const;

private:
    std::vector<double> lrs_;
    std::vector<double> initial_lrs_;  // empty until a schedule records them
};

/// Updates fixed groups of parameters (leaves that require grad) from their .grad().
///
/// Parameter groups (torch.optim's `param_groups`): each optimiser is built from a list of groups,
/// each a list of parameters with options of its own (falling back to the optimiser's defaults),
/// or from one list (one group). parameters() lists every group's parameters in order: group 0's,
/// then group 1's...; that index names each parameter in messages and in state(). A parameter may
/// be in one group only (ValueError naming both places, as PyTorch), and a group may not be empty
/// (ValueError; PyTorch accepts an empty group, which does nothing).
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
/// - `lr.<g>`: 0-d, the current learning rate of group g (one per group);
/// - `step.<i>`: 0-d, how many updates parameter i of parameters() has had (Adam, AdamW,
///   RMSprop, Adagrad);
/// - `<buffer>.<i>`: a per-parameter buffer of parameter i, with that parameter's shape
///   (`momentum_buffer`, `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`, `square_avg`, `grad_avg`,
///   `sum`: PyTorch's state names).
/// A parameter's entries appear once it has been updated. load_state() takes such a list back: it
/// replaces all state, and also accepts `lr`, the one-group name of checkpoints saved before
/// parameter groups existed. It throws ValueError for an unknown name, an index out of range, a
/// buffer whose shape differs from its parameter's, lrs for another number of groups, or an
/// incomplete set (see each optimiser). The options other than lr are the caller's, as PyTorch's
/// constructor arguments are: they are not in the state.
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
    /// Every group's parameters, in order: the indices of state() entries refer to it.
    const std::vector<Tensor<T>>& parameters() const noexcept { return params_; }
    /// The group of parameters()[i]; ValueError for i out of range.
    std::size_t group_of(std::size_t i) const;

    /// Copies of the lrs and of every per-parameter state made so far, for checkpoints (see above).
    State state() const;
    /// Replaces all state with a state() list; ValueError, changing nothing, when it does not fit
    /// (see above).
    void load_state(const State& state);

protected:
    /// A parameter's state: its update count and buffers, indexed as the names given to the
    /// constructor (an absent buffer is not made yet).
    struct Slot {
        std::int64_t step = 0;                              ///< updates so far
        std::vector<std::optional<xt::xarray<T>>> buffers;  ///< one per buffer name, empty until made
    };
    /// Whether load_state() requires, allows or refuses a buffer for a parameter of a group.
    enum class Need { Refused, Allowed, Required };

    /// `groups`: the parameters of each group, `lrs`: each group's checked lr; `buffers`: the
    /// names of the per-parameter buffers, `counts_steps`: whether a step count is kept. Throws
    /// ValueError for no parameters at all, an empty group, an undefined tensor, a non-leaf, one
    /// that does not require grad, or a tensor given twice (a tied weight is one parameter: pass it
    /// once).
    Optimizer(const std::vector<std::vector<Tensor<T>>>& groups, std::vector<double> lrs, const char* name,
              std::vector<std::string> buffers, bool counts_steps);

    /// Updates parameter i, whose gradient is defined and whose shapes step() has checked.
    virtual void update(std::size_t i) = 0;
    /// What load_state() does with buffer k of a parameter in `group`, given the group's options.
    virtual Need need(std::size_t k, std::size_t group) const = 0;

    /// Parameter i's state, made (step 0, no buffers) on first use.
    Slot& slot(std::size_t i);
    /// Buffer k of parameter i, made filled with `fill` (parameter i's shape) on first use.
    xt::xarray<T>& buffer(Slot& slot, std::size_t k, std::size_t i, T fill = T(0));

    /// Throws (see the class comment) unless every parameter still has its recorded shape (and,
    /// with `gradients`, every defined gradient has it too); `method` names the caller.
    void check_shapes(const char* method, bool gradients) const;

    std::vector<Tensor<T>> params_;   ///< every group's parameters, in order (parameters())
    std::vector<std::size_t> group_;  ///< the group of each parameter
    std::vector<Shape> shapes_;       ///< each parameter's shape when the optimiser was built

private:
    /// The new slots of a load_state() list, every entry checked; also collects the lr entries.
    std::vector<std::optional<Slot>> parse_state(const State& state, std::vector<std::optional<double>>& lrs) const;
    /// Checks that parameter i's loaded buffers are what need() asks of its group.
    void check_complete(std::size_t i, const Slot& slot) const;

    std::vector<std::string> buffer_names_;
    bool counts_steps_;
    std::vector<std::optional<Slot>> slots_;  // one per parameter, made on its first update
};

/// A parameter group as param_groups() returns it: its parameters and every option in force
/// (options.lr is the group's current lr).
template <class T, class Options>
struct ParamGroup {
    std::vector<Tensor<T>> params;  ///< the group's parameters, in order
    Options options;                ///< the group's options, defaults filled in
};

/// An optimiser whose groups each have an `Options` struct: the machinery shared by SGD, Adam,
/// AdamW, RMSprop and Adagrad. `Group` (e.g. SGDGroup) holds a group's parameters and its optional
/// overrides, and resolves them against the defaults.
template <class T, class Options>
class GroupedOptimizer : public Optimizer<T> {
public:
    /// The options of a group (group 0 by default), with lr its current learning rate.
    Options options(std::size_t group = 0) const;
    /// The defaults the groups fall back to, as given to the constructor (unset ones resolved).
    const Options& defaults() const noexcept { return defaults_; }
    /// Every group's parameters and options (torch.optim's `param_groups`); change a group's lr with
    /// set_lr(group, lr).
    std::vector<ParamGroup<T, Options>> param_groups() const;

    /// The option OneCycleLR cycles (see OptimizerBase::momentum_name()).
    std::string momentum_name() const override { return momentum_name_; }
    /// That option's value in a group; ValueError when there is none or the group is out of range.
    double momentum(std::size_t group) const override;
    /// Sets that option in every group, one value per group; ValueError, changing nothing, when there
    /// is none, for another count, or for a value the group's options refuse.
    void set_momenta(const std::vector<double>& values) override;
    /// Throws the ValueError set_momenta() would throw for `value` in `group`.
    void check_momentum(std::size_t group, double value) const override;

protected:
    /// Checks every option but lr, throwing ValueError `"<who>: <option> is <value>; ..."`.
    using Validate = void (*)(const Options& options, const std::string& who);
    /// What each optimiser tells the shared constructor.
    struct Spec {
        const char* name;                  ///< "SGD", ...
        Validate validate;                 ///< checks the options but lr
        double Options::*momentum;         ///< the option OneCycleLR cycles, or nullptr
        const char* momentum_name;         ///< its name, or ""
        std::vector<std::string> buffers;  ///< the per-parameter buffers' names
        bool counts_steps;                 ///< whether a step count is kept per parameter
        bool lr_required = false;          ///< lr has no default: NaN (unset) must be set by each group (SGD)
    };

    /// Resolves each group's options against `defaults` and checks them (ValueError naming the
    /// optimiser, and the group when there are several), then the parameters (see Optimizer).
    template <class Group>
    GroupedOptimizer(const std::vector<Group>& groups, const Options& defaults, const Spec& spec)
        : GroupedOptimizer(resolve(groups, defaults, spec), defaults, spec) {}

    std::vector<Options> group_options_;  ///< each group's options (their lr is the initial one: lr(g) is current)

private:
    struct Resolved {
        std::vector<std::vector<Tensor<T>>> params;
        std::vector<Options> options;
        std::vector<double> lrs;
    };
    template <class Group>
    static Resolved resolve(const std::vector<Group>& groups, const Options& defaults, const Spec& spec);
    GroupedOptimizer(Resolved resolved, const Options& defaults, const Spec& spec);
    /// Checks options, lr included; an unset lr (NaN, where spec.lr_required) passes in the defaults
    /// and is refused in a group (`lr_required`). `who` names the optimiser, and the group when there
    /// are several.
    static void check_options(const Options& options, const Spec& spec, const std::string& who, bool lr_required);
    /// "<name>" when there is one group, "<name> (group g)" otherwise.
    std::string who(std::size_t group) const;

    Options defaults_;
    Validate validate_;
    double Options::*momentum_;
    std::string momentum_name_;
};

template <class T, class Options>
template <class Group>
typename GroupedOptimizer<T, Options>::Resolved GroupedOptimizer<T, Options>::resolve(const std::vector<Group>& groups,
                                                                                      const Options& defaults,
                                                                                      const Spec& spec) {
    // PyTorch checks the defaults even where every group overrides them; only a required lr may be
    // left to the groups.
    check_options(defaults, spec, spec.name, /*lr_required=*/false);
    Resolved out;
    for (std::size_t g = 0; g < groups.size(); ++g) {
        const Options o = groups[g].resolve(defaults);
        check_options(o, spec, groups.size() == 1 ? std::string(spec.name) : fmt::format("{} (group {})", spec.name, g),
                      /*lr_required=*/true);
        out.params.push_back(groups[g].params);
        out.options.push_back(o);
        out.lrs.push_back(o.lr);
    }
    return out;
}

/// Throws ValueError `"<optimizer>: <option> is <value>; it must be <rule>"` unless ok.
void check_option(bool ok, const std::string& optimizer, const char* option, double value, const char* rule);

}  // namespace tapegrad::optim
