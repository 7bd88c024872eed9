// OneCycleLR, SequentialLR and ReduceLROnPlateau (declared in schedule.hpp).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <tapegrad/nn/schedule.hpp>

namespace tapegrad::optim {

// ---- OneCycleLR --------------------------------------------------------------------------------

namespace {

std::vector<double> initial_lrs(const std::vector<double>& max_lrs, double div_factor) {
    std::vector<double> out;
    for (double m : max_lrs) out.push_back(m / div_factor);
    return out;
}

}  // namespace

OneCycleLR::OneCycleLR(OptimizerBase& optimizer, double max_lr, const OneCycleLROptions& options)
    : OneCycleLR(optimizer, std::vector<double>(optimizer.num_groups(), max_lr), options) {}

OneCycleLR::OneCycleLR(OptimizerBase& optimizer, std::vector<double> max_lrs, const OneCycleLROptions& options)
    : LrSchedule(optimizer, initial_lrs(max_lrs, options.div_factor)), max_lrs_(std::move(max_lrs)), options_(options) {
    const auto& o = options_;
    if (max_lrs_.size() != optimizer.num_groups())
        fail<ValueError>("OneCycleLR: {} max_lr values for {} parameter groups; give one, or one per group",
                         max_lrs_.size(), optimizer.num_groups());
    for (double m : max_lrs_) check_option(m >= 0 && std::isfinite(m), "OneCycleLR", "max_lr", m, ">= 0 and finite");
    check_option(o.total_steps > 0, "OneCycleLR", "total_steps", static_cast<double>(o.total_steps), "> 0");
    check_option(o.pct_start >= 0 && o.pct_start <= 1, "OneCycleLR", "pct_start", o.pct_start, "in [0, 1]");
    check_option(o.div_factor > 0 && std::isfinite(o.div_factor), "OneCycleLR", "div_factor", o.div_factor,
                 "> 0 and finite");
    check_option(o.final_div_factor > 0 && std::isfinite(o.final_div_factor), "OneCycleLR", "final_div_factor",
                 o.final_div_factor, "> 0 and finite");
    if (o.cycle_momentum) {
        if (optimizer.momentum_name().empty())
            fail<ValueError>("OneCycleLR: {} has no momentum or beta1 to cycle; set cycle_momentum = false",
                             optimizer.name());
        for (const double m : {o.base_momentum, o.max_momentum}) {
            check_option(m >= 0 && m < 1, "OneCycleLR", "base_momentum or max_momentum", m, "in [0, 1)");
            for (std::size_t g = 0; g < optimizer.num_groups(); ++g) optimizer.check_momentum(g, m);
        }
    }
    // PyTorch's phase ends, as floats: the first phase ends at step pct_start T - 1.
    const double t = static_cast<double>(o.total_steps), rise = o.pct_start * t;
    phase_ends_ =
        o.three_phase ? std::vector<double>{rise - 1, 2 * rise - 2, t - 1} : std::vector<double>{rise - 1, t - 1};
    start();
}

double OneCycleLR::at(std::size_t epoch, const std::vector<std::pair<double, double>>& phases) const {
    if (epoch > options_.total_steps)
        fail<ValueError>("OneCycleLR: tried to step {} times; total_steps is {}", epoch, options_.total_steps);
    const auto s = static_cast<double>(epoch);
    double begin = 0;
    for (std::size_t i = 0; i < phases.size(); ++i) {
        const double end = phase_ends_[i];
        if (s <= end || i + 1 == phases.size()) {
            if (end == begin)  // PyTorch divides by zero here
                fail<ValueError>(
                    "OneCycleLR: phase {} (steps {} to {}) has no length (pct_start is {}, total_steps {})", i, begin,
                    end, options_.pct_start, options_.total_steps);
            const double pct = (s - begin) / (end - begin);
            const auto [from, to] = phases[i];
            if (options_.anneal_strategy == OneCycleLROptions::Anneal::Linear) return (to - from) * pct + from;
            return to + (from - to) / 2.0 * (std::cos(std::numbers::pi * pct) + 1);
        }
        begin = end;
    }
    return 0;  // not reached: the last phase takes every step
}

double OneCycleLR::lr_at(std::size_t epoch, std::size_t group) const {
    const double initial = base_lr(group), peak = max_lrs_.at(group);
    const double final_lr = initial / options_.final_div_factor;
    if (options_.three_phase) return at(epoch, {{initial, peak}, {peak, initial}, {initial, final_lr}});
    return at(epoch, {{initial, peak}, {peak, final_lr}});
}

std::optional<double> OneCycleLR::momentum_at(std::size_t epoch, std::size_t) const {
    if (!options_.cycle_momentum) return std::nullopt;
    const double low = options_.base_momentum, high = options_.max_momentum;
    if (options_.three_phase) return at(epoch, {{high, low}, {low, high}, {high, high}});
    return at(epoch, {{high, low}, {low, high}});
}

std::string OneCycleLR::to_string() const {
    const auto& o = options_;
    return fmt::format(
        "OneCycleLR(max_lr=[{}], total_steps={}, pct_start={}, anneal_strategy={}, cycle_momentum={}, "
        "base_momentum={}, max_momentum={}, div_factor={}, final_div_factor={}, three_phase={})",
        fmt::join(max_lrs_, ", "), o.total_steps, o.pct_start,
        o.anneal_strategy == OneCycleLROptions::Anneal::Cos ? "cos" : "linear", o.cycle_momentum, o.base_momentum,
        o.max_momentum, o.div_factor, o.final_div_factor, o.three_phase);
}

// ---- SequentialLR ------------------------------------------------------------------------------

SequentialLR::SequentialLR(OptimizerBase& optimizer, std::vector<std::unique_ptr<LrSchedule>> schedules,
                           std::vector<std::size_t> milestones)
    : LrSchedule(optimizer), schedules_(std::move(schedules)), milestones_(std::move(milestones)) {
    if (schedules_.empty()) fail<ValueError>("SequentialLR: no schedules given");
    for (std::size_t k = 0; k < schedules_.size(); ++k) {
        if (!schedules_[k]) fail<ValueError>("SequentialLR: schedule {} is null", k);
        if (&schedules_[k]->optimizer() != &optimizer)
            fail<ValueError>("SequentialLR: schedule {} ({}) sets the lr of another optimizer than the {} given", k,
                             schedules_[k]->to_string(), optimizer.name());
    }
    if (milestones_.size() + 1 != schedules_.size())
        fail<ValueError>("SequentialLR: {} milestones for {} schedules; there must be one fewer milestone",
                         milestones_.size(), schedules_.size());
    for (std::size_t k = 1; k < milestones_.size(); ++k)
        if (milestones_[k] <= milestones_[k - 1])
            fail<ValueError>("SequentialLR: milestones [{}] are not increasing", fmt::join(milestones_, ", "));
    start();
}

std::pair<const LrSchedule*, std::size_t> SequentialLR::active(std::size_t epoch) const {
    const auto k =
        static_cast<std::size_t>(std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin());
    return {schedules_[k].get(), k == 0 ? epoch : epoch - milestones_[k - 1]};
}

double SequentialLR::lr_at(std::size_t epoch, std::size_t group) const {
    const auto [schedule, own] = active(epoch);
    return schedule->lr_at(own, group);
}

std::optional<double> SequentialLR::momentum_at(std::size_t epoch, std::size_t group) const {
    const auto [schedule, own] = active(epoch);
    return schedule->momentum_at(own, group);
}

std::string SequentialLR::to_string() const {
    std::vector<std::string> parts;
    for (const auto& s : schedules_) parts.push_back(s->to_string());
    return fmt::format("SequentialLR({}, milestones=[{}])", fmt::join(parts, ", "), fmt::join(milestones_, ", "));
}

LrScheduleState SequentialLR::state() const {
    LrScheduleState out = LrSchedule::state();
    for (std::size_t k = 0; k < schedules_.size(); ++k)
        for (const auto& [key, value] : schedules_[k]->state()) out.emplace_back(fmt::format("{}.{}", k, key), value);
    return out;
}

void SequentialLR::load_state(const LrScheduleState& state) {
    // Entries "<k>.<name>" belong to schedule k; the rest are this schedule's own.
    LrScheduleState own;
    std::vector<LrScheduleState> parts(schedules_.size());
    for (const auto& [key, value] : state) {
        const auto dot = key.find('.');
        const std::string head = key.substr(0, dot);
        const bool numbered = dot != std::string::npos && !head.empty() && head.size() < 10 &&
                              head.find_first_not_of("0123456789") == std::string::npos;
        if (!numbered) {
            own.emplace_back(key, value);
            continue;
        }
        const auto k = std::stoul(head);
        if (k >= schedules_.size())
            fail<ValueError>("SequentialLR::load_state: entry '{}' refers to schedule {}, but there are {}", key, k,
                             schedules_.size());
        parts[k].emplace_back(key.substr(dot + 1), value);
    }
    auto mine = parse(own, "SequentialLR::load_state");
    std::vector<std::pair<std::size_t, std::vector<double>>> theirs;
    for (std::size_t k = 0; k < schedules_.size(); ++k)
        theirs.push_back(schedules_[k]->parse(parts[k], fmt::format("SequentialLR::load_state: schedule {}", k)));
    // Swap everything in, set the lrs for the epoch, and swap back if that throws.
    const auto swap_all = [&] {
        std::swap(base_lrs_, mine.second);
        for (std::size_t k = 0; k < schedules_.size(); ++k) {
            std::swap(schedules_[k]->epoch_, theirs[k].first);
            std::swap(schedules_[k]->base_lrs_, theirs[k].second);
        }
    };
    swap_all();
    try {
        set_epoch(mine.first);
    } catch (...) {
        swap_all();
        throw;
    }
}

// ---- ReduceLROnPlateau -------------------------------------------------------------------------

ReduceLROnPlateau::ReduceLROnPlateau(OptimizerBase& optimizer, ReduceLROnPlateauOptions options)
    : LrScheduler(optimizer), options_(std::move(options)) {
    auto& o = options_;
    check_option(o.factor >= 0 && o.factor < 1, "ReduceLROnPlateau", "factor", o.factor, "in [0, 1)");
    check_option(o.threshold >= 0 && std::isfinite(o.threshold), "ReduceLROnPlateau", "threshold", o.threshold,
                 ">= 0 and finite");
    check_option(o.eps >= 0 && std::isfinite(o.eps), "ReduceLROnPlateau", "eps", o.eps, ">= 0 and finite");
    if (o.min_lr.size() != 1 && o.min_lr.size() != optimizer.num_groups())
        fail<ValueError>("ReduceLROnPlateau: {} min_lr values for {} parameter groups; give one, or one per group",
                         o.min_lr.size(), optimizer.num_groups());
    for (double m : o.min_lr)
        check_option(m >= 0 && std::isfinite(m), "ReduceLROnPlateau", "min_lr", m, ">= 0 and finite");
    if (o.min_lr.size() == 1) o.min_lr.assign(optimizer.num_groups(), o.min_lr.front());
    best_ = o.mode == ReduceLROnPlateauOptions::Mode::Min ? std::numeric_limits<double>::infinity()
                                                          : -std::numeric_limits<double>::infinity();
}

bool ReduceLROnPlateau::is_better(double metric) const {
    using O = ReduceLROnPlateauOptions;
    const bool min = options_.mode == O::Mode::Min;
    if (options_.threshold_mode == O::ThresholdMode::Rel)
        return min ? metric < best_ * (1 - options_.threshold) : metric > best_ * (1 + options_.threshold);
    return min ? metric < best_ - options_.threshold : metric > best_ + options_.threshold;
}

void ReduceLROnPlateau::step(double metric) {
    if (std::isnan(metric)) fail<ValueError>("ReduceLROnPlateau::step: the metric is nan");
    ++epoch_;
    if (is_better(metric)) {
        best_ = metric;
        num_bad_epochs_ = 0;
    } else {
        ++num_bad_epochs_;
    }
    if (cooldown_counter_ > 0) {  // bad epochs in the cooldown are not counted
        --cooldown_counter_;
        num_bad_epochs_ = 0;
    }
    if (num_bad_epochs_ > options_.patience) {
        for (std::size_t g = 0; g < optimizer_.num_groups(); ++g) {
            const double old_lr = optimizer_.lr(g);
            const double new_lr = std::max(old_lr * options_.factor, options_.min_lr[g]);
            if (old_lr - new_lr > options_.eps) optimizer_.set_lr(g, new_lr);
        }
        cooldown_counter_ = options_.cooldown;
        num_bad_epochs_ = 0;
    }
}

std::string ReduceLROnPlateau::to_string() const {
    using O = ReduceLROnPlateauOptions;
    const auto& o = options_;
    return fmt::format(
        "ReduceLROnPlateau(mode={}, factor={}, patience={}, threshold={}, threshold_mode={}, cooldown={}, "
        "min_lr=[{}], eps={})",
        o.mode == O::Mode::Min ? "min" : "max", o.factor, o.patience, o.threshold,
        o.threshold_mode == O::ThresholdMode::Rel ? "rel" : "abs", o.cooldown, fmt::join(o.min_lr, ", "), o.eps);
}

LrScheduleState ReduceLROnPlateau::state() const {
    return {{"epoch", static_cast<double>(epoch())},
            {"best", best_},
            {"num_bad_epochs", static_cast<double>(num_bad_epochs_)},
            {"cooldown_counter", static_cast<double>(cooldown_counter_)}};
}

void ReduceLROnPlateau::load_state(const LrScheduleState& state) {
    const std::string who = "ReduceLROnPlateau::load_state";
    check_known(state, {"epoch", "best", "num_bad_epochs", "cooldown_counter"}, who);
    const std::size_t epoch = count_entry(state, "epoch", who);
    const double best = entry(state, "best", who);
    if (std::isnan(best)) fail<ValueError>("{}: entry 'best' is nan", who);
    const std::size_t bad = count_entry(state, "num_bad_epochs", who);
    const std::size_t cooldown = count_entry(state, "cooldown_counter", who);
    epoch_ = epoch;
    best_ = best;
    num_bad_epochs_ = bad;
    cooldown_counter_ = cooldown;
}

}  // namespace tapegrad::optim
