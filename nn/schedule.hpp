/// \file
/// Learning-rate schedules (torch.optim.lr_scheduler): call step() once per epoch, after the
/// epoch's optimiser steps; each sets the optimiser's lr from the base lr it had at construction.
/// A schedule keeps a reference to its optimiser, which must outlive it.
#pragma once

#include <cstddef>
#include <string>

#include <tapegrad/nn/optimizer.hpp>

namespace tapegrad::optim {

/// What a checkpoint keeps of a schedule: with the same kind and settings rebuilt by the caller,
/// this is everything that changes as training goes.
struct LrScheduleState {
    std::size_t epoch = 0;  ///< step() calls so far
    double base_lr = 0;     ///< the lr the schedule started from
};

/// The base of the schedules (torch.optim.lr_scheduler.LRScheduler): sets its optimiser's lr for
/// each epoch from lr_at(epoch).
class LrSchedule {
public:
    virtual ~LrSchedule() = default;
    /// Advances one epoch and sets the optimiser's lr.
    void step() { set_epoch(epoch_ + 1); }
    /// Jumps to an epoch (e.g. when resuming from a checkpoint) and sets the lr for it.
    void set_epoch(std::size_t epoch);
    /// How many times step() was called (PyTorch's last_epoch).
    std::size_t epoch() const noexcept { return epoch_; }
    /// The lr the schedule started from: its optimiser's lr when the schedule was built.
    double base_lr() const noexcept { return base_lr_; }
    /// The lr at a given epoch; epoch 0 gives base_lr.
    virtual double lr_at(std::size_t epoch) const = 0;
    /// The kind and its settings, e.g. "StepLR(step_size=30, gamma=0.1)".
    virtual std::string to_string() const = 0;
    /// The kind, "StepLR" or "CosineAnnealingLR": to_string() up to its '('.
    virtual std::string name() const;
    /// The optimiser whose lr this schedule sets.
    const OptimizerBase& optimizer() const noexcept { return optimizer_; }

    /// What a checkpoint keeps: the epoch and the base lr.
    LrScheduleState state() const { return {epoch_, base_lr_}; }
    /// Restores a state() and sets the optimiser's lr for its epoch. Throws ValueError for a negative
    /// or non-finite base_lr, changing nothing.
    void load_state(const LrScheduleState& state);

protected:
    /// Takes the optimiser's current lr as base_lr; the optimiser must outlive the schedule.
    explicit LrSchedule(OptimizerBase& optimizer) : optimizer_(optimizer), base_lr_(optimizer.lr()) {}

private:
    OptimizerBase& optimizer_;
    double base_lr_;
    std::size_t epoch_ = 0;
};

/// lr = base_lr gamma^floor(epoch / step_size). step_size > 0; gamma defaults to PyTorch's 0.1.
class StepLR : public LrSchedule {
public:
    /// Schedules `optimizer`; ValueError unless step_size > 0 and gamma is >= 0 and finite.
    StepLR(OptimizerBase& optimizer, std::size_t step_size, double gamma = 0.1);
    double lr_at(std::size_t epoch) const override;
    /// "StepLR(step_size=30, gamma=0.1)".
    std::string to_string() const override;

private:
    std::size_t step_size_;
    double gamma_;
};

/// lr = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2: from base_lr down to
/// eta_min at epoch T_max (and back up after it, as PyTorch's). T_max > 0.
class CosineAnnealingLR : public LrSchedule {
public:
    /// Schedules `optimizer`; ValueError unless t_max > 0 and eta_min is >= 0 and finite.
    CosineAnnealingLR(OptimizerBase& optimizer, std::size_t t_max, double eta_min = 0);
    double lr_at(std::size_t epoch) const override;
    /// "CosineAnnealingLR(T_max=20, eta_min=0)".
    std::string to_string() const override;

private:
    std::size_t t_max_;
    double eta_min_;
};

}  // namespace tapegrad::optim
