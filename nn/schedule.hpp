/// \file
/// Learning-rate schedules (torch.optim.lr_scheduler): StepLR, CosineAnnealingLR, LambdaLR, LinearLR,
/// OneCycleLR and SequentialLR (closed forms of the epoch), and ReduceLROnPlateau (driven by a
/// metric). Call step() after the optimiser steps of an epoch (or of a batch, for OneCycleLR).
/// A schedule keeps a reference to its optimiser, which must outlive it. Every group's lr is
/// scheduled, each scaled from its own initial lr, as PyTorch's schedulers do.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <tapegrad/nn/optimizer.hpp>

namespace tapegrad::optim {

/// What a checkpoint keeps of a schedule: named numbers (with the same kind and settings rebuilt by
/// the caller, everything that changes as training goes). The names of each kind:
/// - the closed-form schedules: `epoch` (step() calls so far) and `base_lr.<g>` (group g's initial lr);
/// - SequentialLR: those, and each child's entries prefixed by its position, `0.epoch`, `1.base_lr.0`...;
/// - ReduceLROnPlateau: `epoch`, `best`, `num_bad_epochs`, `cooldown_counter` (PyTorch's names).
using LrScheduleState = std::vector<std::pair<std::string, double>>;

/// The base of everything that sets an optimiser's lrs (torch.optim.lr_scheduler.LRScheduler, and
/// ReduceLROnPlateau): what a checkpoint saves and restores.
class LrScheduler {
public:
    virtual ~LrScheduler() = default;
    /// How many times step() was called (PyTorch's last_epoch).
    std::size_t epoch() const noexcept { return epoch_; }
    /// The optimiser whose lrs this schedule sets.
    const OptimizerBase& optimizer() const noexcept { return optimizer_; }
    /// The kind and its settings, e.g. "StepLR(step_size=30, gamma=0.1)".
    virtual std::string to_string() const = 0;
    /// The kind, "StepLR", "OneCycleLR"...: to_string() up to its '('.
    std::string name() const;
    /// What a checkpoint keeps (see LrScheduleState).
    virtual LrScheduleState state() const = 0;
    /// Restores a state(). ValueError, changing nothing, for an unknown, missing or invalid entry.
    virtual void load_state(const LrScheduleState& state) = 0;

protected:
    /// Schedules `optimizer`, which must outlive the schedule.
    explicit LrScheduler(OptimizerBase& optimizer) : optimizer_(optimizer) {}
    /// The value of `key` in `state`; ValueError `"<who>: entry '<key>' is missing"` (or given twice).
    static double entry(const LrScheduleState& state, const std::string& key, const std::string& who);
    /// entry(), which must be a whole number >= 0 (a count or an epoch).
    static std::size_t count_entry(const LrScheduleState& state, const std::string& key, const std::string& who);
    /// ValueError naming `who` for an entry of `state` whose name is not in `known`.
    static void check_known(const LrScheduleState& state, const std::vector<std::string>& known,
                            const std::string& who);
    OptimizerBase& optimizer_;  ///< the optimiser whose lrs this schedule sets
    std::size_t epoch_ = 0;     ///< step() calls so far
};

/// The schedules whose lr is a closed form of the epoch (torch.optim.lr_scheduler.LRScheduler):
/// each sets every group's lr from lr_at(epoch, group), scaled from the group's base lr.
///
/// The base lrs are PyTorch's `initial_lr`: the optimiser's lrs when the first schedule was built
/// on it (OptimizerBase::initial_lrs()). Building a schedule sets the lrs for epoch 0, as PyTorch's
/// constructors do (LinearLR starts at start_factor times the base lr).
class LrSchedule : public LrScheduler {
public:
    /// Advances one epoch and sets the optimiser's lrs; ValueError, changing nothing, when an lr
    /// would be negative or not finite (a LambdaLR's lambda) or the epoch is past a OneCycleLR's end.
    void step() { set_epoch(epoch() + 1); }
    /// Jumps to an epoch (e.g. when resuming from a checkpoint) and sets the lrs for it; throws as step().
    void set_epoch(std::size_t epoch);
    /// Every group's base lr.
    const std::vector<double>& base_lrs() const noexcept { return base_lrs_; }
    /// A group's base lr (group 0 by default); ValueError for a group out of range.
    double base_lr(std::size_t group = 0) const;
    /// The lr of `group` at `epoch`; epoch 0 gives the group's starting lr. ValueError for a group
    /// out of range.
    virtual double lr_at(std::size_t epoch, std::size_t group = 0) const = 0;
    /// The momentum (or beta1) of `group` at `epoch`, for the schedules that cycle it (OneCycleLR).
    virtual std::optional<double> momentum_at(std::size_t epoch, std::size_t group) const;
    /// `epoch` and `base_lr.<g>` (see LrScheduleState).
    LrScheduleState state() const override;
    /// Restores a state() and sets the optimiser's lrs for its epoch. ValueError, changing nothing,
    /// for an unknown or missing entry, base lrs for another number of groups, or a negative or
    /// non-finite base lr.
    void load_state(const LrScheduleState& state) override;

protected:
    /// Takes the optimiser's initial lrs (see above) as the base lrs.
    explicit LrSchedule(OptimizerBase& optimizer) : LrSchedule(optimizer, optimizer.initial_lrs()) {}
    /// Takes `base_lrs` as the base lrs (OneCycleLR: max_lr / div_factor).
    LrSchedule(OptimizerBase& optimizer, std::vector<double> base_lrs)
        : LrScheduler(optimizer), base_lrs_(std::move(base_lrs)) {}
    /// Ends a derived constructor: sets the lrs for epoch 0 (or throws, changing nothing), then
    /// records the base lrs as the optimiser's initial lrs.
    void start();

private:
    friend class SequentialLR;
    /// The (epoch, base lrs) of a state, checked; ValueError naming `who` otherwise.
    std::pair<std::size_t, std::vector<double>> parse(const LrScheduleState& state, const std::string& who) const;
    std::vector<double> base_lrs_;
};

/// lr = base_lr gamma^floor(epoch / step_size) (torch.optim.lr_scheduler.StepLR). step_size > 0;
/// gamma defaults to PyTorch's 0.1.
class StepLR : public LrSchedule {
public:
    /// Schedules `optimizer`; ValueError unless step_size > 0 and gamma is >= 0 and finite.
    StepLR(OptimizerBase& optimizer, std::size_t step_size, double gamma = 0.1);
    double lr_at(std::size_t epoch, std::size_t group = 0) const override;
    /// "StepLR(step_size=30, gamma=0.1)".
    std::string to_string() const override;

private:
    std::size_t step_size_;
    double gamma_;
};

/// lr = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2: from base_lr down to
/// eta_min at epoch T_max (and back up after it, as PyTorch's) (torch.optim.lr_scheduler.CosineAnnealingLR).
class CosineAnnealingLR : public LrSchedule {
public:
    /// Schedules `optimizer`; ValueError unless t_max > 0 and eta_min is >= 0 and finite.
    CosineAnnealingLR(OptimizerBase& optimizer, std::size_t t_max, double eta_min = 0);
    double lr_at(std::size_t epoch, std::size_t group = 0) const override;
    /// "CosineAnnealingLR(T_max=20, eta_min=0)".
    std::string to_string() const override;

private:
    std::size_t t_max_;
    double eta_min_;
};

/// lr = base_lr lambda(epoch) (torch.optim.lr_scheduler.LambdaLR), one lambda for every group or
/// one per group. The lambdas are the caller's: a checkpoint keeps the epoch and the base lrs.
class LambdaLR : public LrSchedule {
public:
    /// A multiplicative factor of the epoch.
    using Lambda = std::function<double(std::size_t epoch)>;
    /// Schedules every group with `lambda`; ValueError when it is empty, or (from the constructor
    /// and step()) when base_lr lambda(epoch) is negative or not finite.
    LambdaLR(OptimizerBase& optimizer, Lambda lambda);
    /// One lambda per group; ValueError for another count than the optimiser's groups or an empty one.
    LambdaLR(OptimizerBase& optimizer, std::vector<Lambda> lambdas);
    double lr_at(std::size_t epoch, std::size_t group = 0) const override;
    /// "LambdaLR(lambdas=1)": how many lambdas.
    std::string to_string() const override;

private:
    std::vector<Lambda> lambdas_;
};

/// Linear warm-up (torch.optim.lr_scheduler.LinearLR): the factor goes linearly from start_factor
/// to end_factor over total_iters epochs, then stays:
/// lr = base_lr (start_factor + (end_factor - start_factor) min(epoch, total_iters) / total_iters).
/// Defaults are PyTorch's (1/3, 1, 5).
class LinearLR : public LrSchedule {
public:
    /// Schedules `optimizer`; ValueError unless 0 < start_factor <= 1, 0 <= end_factor <= 1 (as
    /// PyTorch) and total_iters > 0.
    explicit LinearLR(OptimizerBase& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0,
                      std::size_t total_iters = 5);
    double lr_at(std::size_t epoch, std::size_t group = 0) const override;
    /// "LinearLR(start_factor=0.1, end_factor=1, total_iters=5)".
    std::string to_string() const override;

private:
    double start_factor_;
    double end_factor_;
    std::size_t total_iters_;
};

/// OneCycleLR's settings; defaults are PyTorch's, total_steps is required.
struct OneCycleLROptions {
    /// How the lr (and momentum) move within a phase.
    enum class Anneal {
        Cos,    ///< end + (start - end) (1 + cos(pi pct)) / 2
        Linear  ///< start + (end - start) pct
    };
    std::size_t total_steps = 0;           ///< step() calls in the cycle, > 0 (PyTorch's epochs * steps_per_epoch)
    double pct_start = 0.3;                ///< the share of the steps spent rising, in [0, 1]
    Anneal anneal_strategy = Anneal::Cos;  ///< PyTorch's 'cos' or 'linear'
    bool cycle_momentum = true;            ///< cycle momentum (SGD, RMSprop) or beta1 (Adam, AdamW) inversely to the lr
    double base_momentum = 0.85;           ///< the momentum at the lr's peak, in [0, 1)
    double max_momentum = 0.95;            ///< the momentum at the lr's ends, in [0, 1)
    double div_factor = 25;                ///< initial lr = max_lr / div_factor, > 0
    double final_div_factor = 1e4;         ///< final lr = initial lr / final_div_factor, > 0
    bool three_phase = false;              ///< rise, fall back to the initial lr, then fall to the final lr
};

/// The 1cycle policy (torch.optim.lr_scheduler.OneCycleLR), stepped once per batch. Each group's lr
/// rises from initial = max_lr / div_factor to max_lr over the first pct_start of the steps, then
/// falls to initial / final_div_factor (three_phase: falls back to initial first, symmetric, then
/// to the final lr). Phase ends, as PyTorch's: pct_start T - 1, then T - 1 (three_phase: pct_start T - 1,
/// 2 pct_start T - 2, T - 1), T = total_steps; within a phase from step s0 to s1,
/// pct = (epoch - s0) / (s1 - s0) and the lr is the anneal of (start, end, pct).
/// With cycle_momentum (PyTorch's default) the momentum, or Adam's beta1, goes the other way,
/// from max_momentum to base_momentum and back (three_phase: stays at max_momentum in the last
/// phase); as in PyTorch, this gives momentum to an SGD built without, and it is set in every group.
/// A checkpoint needs no momentum: loading the schedule's epoch sets it again. The base lrs are max_lr / div_factor,
/// recorded as the optimiser's initial lrs. step() past total_steps is a ValueError, as PyTorch's; so is a phase of
/// zero length reached (PyTorch's ZeroDivisionError, e.g. pct_start T = 1), and, unlike PyTorch, a negative lr (the
/// linear anneal extrapolated at step total_steps).
class OneCycleLR : public LrSchedule {
public:
    /// Schedules every group up to `max_lr`. ValueError, changing nothing, for total_steps 0,
    /// pct_start outside [0, 1], max_lr, div_factor or final_div_factor not > 0 and finite (max_lr
    /// may be 0), a momentum outside [0, 1) or that the optimiser refuses, cycle_momentum with an
    /// optimiser without momentum (Adagrad), or a zero-length first phase.
    OneCycleLR(OptimizerBase& optimizer, double max_lr, const OneCycleLROptions& options);
    /// One max_lr per group; ValueError as above, or for another count than the optimiser's groups.
    OneCycleLR(OptimizerBase& optimizer, std::vector<double> max_lrs, const OneCycleLROptions& options);
    double lr_at(std::size_t epoch, std::size_t group = 0) const override;
    std::optional<double> momentum_at(std::size_t epoch, std::size_t group) const override;
    /// "OneCycleLR(max_lr=[0.1], total_steps=100, pct_start=0.3, anneal_strategy=cos, ...)".
    std::string to_string() const override;

private:
    /// The anneal of (start, end) at `epoch` for the phases' values (lr or momentum).
    double at(std::size_t epoch, const std::vector<std::pair<double, double>>& phases) const;
    std::vector<double> max_lrs_;
    OneCycleLROptions options_;
    std::vector<double> phase_ends_;
};

/// Runs schedules one after the other (torch.optim.lr_scheduler.SequentialLR): schedule k (k = 0, 1, ...)
/// from epoch milestones[k-1] on, at its own epoch 0 there. It owns the schedules, which must be of
/// the same optimiser; it reads their lr_at() and does not step them (their epoch() stays).
/// `SequentialLR seq(opt, make_schedules(...), {5});` with a LinearLR warm-up then a cosine:
/// ```
///   std::vector<std::unique_ptr<LrSchedule>> s;
///   s.push_back(std::make_unique<LinearLR>(opt, 0.1, 1.0, 5));
///   s.push_back(std::make_unique<CosineAnnealingLR>(opt, 95));
///   SequentialLR seq(opt, std::move(s), {5});
/// ```
class SequentialLR : public LrSchedule {
public:
    /// ValueError for no schedule, a null one, one of another optimiser, or milestones that are not
    /// one fewer than the schedules and increasing.
    SequentialLR(OptimizerBase& optimizer, std::vector<std::unique_ptr<LrSchedule>> schedules,
                 std::vector<std::size_t> milestones);
    double lr_at(std::size_t epoch, std::size_t group = 0) const override;
    std::optional<double> momentum_at(std::size_t epoch, std::size_t group) const override;
    /// "SequentialLR(LinearLR(...), CosineAnnealingLR(...), milestones=[5])".
    std::string to_string() const override;
    /// Its epoch and base lrs, and each schedule's, prefixed by its position (see LrScheduleState).
    LrScheduleState state() const override;
    /// Restores a state() (every schedule's too); ValueError, changing nothing, as LrSchedule's.
    void load_state(const LrScheduleState& state) override;

private:
    /// The schedule active at `epoch` and its own epoch there.
    std::pair<const LrSchedule*, std::size_t> active(std::size_t epoch) const;
    std::vector<std::unique_ptr<LrSchedule>> schedules_;
    std::vector<std::size_t> milestones_;
};

/// ReduceLROnPlateau's settings; defaults are PyTorch's.
struct ReduceLROnPlateauOptions {
    /// Whether the metric should go down (a loss) or up (an accuracy).
    enum class Mode { Min, Max };
    /// How an improvement is measured against the best value so far.
    enum class ThresholdMode {
        Rel,  ///< better than best (1 - threshold) (Min) or best (1 + threshold) (Max)
        Abs   ///< better than best - threshold (Min) or best + threshold (Max)
    };
    Mode mode = Mode::Min;                              ///< PyTorch's 'min' or 'max'
    double factor = 0.1;                                ///< new lr = lr factor, in [0, 1)
    std::size_t patience = 10;                          ///< epochs without improvement tolerated
    double threshold = 1e-4;                            ///< what counts as an improvement, >= 0 and finite
    ThresholdMode threshold_mode = ThresholdMode::Rel;  ///< PyTorch's 'rel' or 'abs'
    std::size_t cooldown = 0;                           ///< epochs to wait after a reduction before counting again
    std::vector<double> min_lr = {0};                   ///< lower bound of the lr: one value, or one per group; >= 0
    double eps = 1e-8;                                  ///< a reduction smaller than eps is not made, >= 0
};

/// Reduces every group's lr by `factor` once the metric has not improved for `patience` epochs
/// (torch.optim.lr_scheduler.ReduceLROnPlateau), PyTorch's rule: each step(metric) counts a bad
/// epoch unless the metric beats the best so far (see ThresholdMode); during a cooldown bad epochs
/// are not counted; more than `patience` of them set each lr to max(lr factor, min_lr) (unless that
/// changes it by less than eps), start the cooldown and reset the count. It changes the lrs the
/// optimiser has, so it composes with a manual set_lr.
class ReduceLROnPlateau : public LrScheduler {
public:
    /// Schedules `optimizer`. ValueError for a factor outside [0, 1), a negative or non-finite
    /// threshold, min_lr or eps, or min_lr with another count than 1 or the optimiser's groups.
    explicit ReduceLROnPlateau(OptimizerBase& optimizer, ReduceLROnPlateauOptions options = {});
    /// Takes one epoch's metric. ValueError, changing nothing, for a NaN metric (PyTorch counts it as
    /// a bad epoch; here it is refused, so that a diverged run is noticed).
    void step(double metric);
    /// The best metric so far (inf for Min, -inf for Max before the first step).
    double best() const noexcept { return best_; }
    /// Bad epochs counted since the last improvement or reduction.
    std::size_t num_bad_epochs() const noexcept { return num_bad_epochs_; }
    /// Epochs left in the cooldown.
    std::size_t cooldown_counter() const noexcept { return cooldown_counter_; }
    /// "ReduceLROnPlateau(mode=min, factor=0.1, patience=10, ...)".
    std::string to_string() const override;
    /// `epoch`, `best`, `num_bad_epochs`, `cooldown_counter`.
    LrScheduleState state() const override;
    /// Restores a state() (the lrs are the optimiser's state); ValueError, changing nothing, for an
    /// unknown, missing or invalid entry.
    void load_state(const LrScheduleState& state) override;

private:
    bool is_better(double metric) const;
    ReduceLROnPlateauOptions options_;
    double best_;
    std::size_t num_bad_epochs_ = 0;
    std::size_t cooldown_counter_ = 0;
};

}  // namespace tapegrad::optim
