#include <tapegrad/nn/schedule.hpp>

#include <cmath>
#include <numbers>

#include <algorithm>

#include <fmt/format.h>

namespace tapegrad::optim {

std::string LrScheduler::name() const {
    const std::string text = to_string();
    return text.substr(0, text.find('('));
}

double LrScheduler::entry(const LrScheduleState& state, const std::string& key, const std::string& who) {
    const auto same = [&](const auto& e) { return e.first == key; };
    const auto n = std::count_if(state.begin(), state.end(), same);
    if (n != 1) fail<ValueError>("{}: entry '{}' is {}", who, key, n == 0 ? "missing" : "given twice");
    return std::find_if(state.begin(), state.end(), same)->second;
}

std::size_t LrScheduler::count_entry(const LrScheduleState& state, const std::string& key, const std::string& who) {
    const double value = entry(state, key, who);
    // 2^53: every whole number below it is exact in a double.
    if (!(value >= 0 && value < 9007199254740992.0 && std::floor(value) == value))
        fail<ValueError>("{}: entry '{}' is {}; it must be a whole number >= 0", who, key, value);
    return static_cast<std::size_t>(value);
}

void LrScheduler::check_known(const LrScheduleState& state, const std::vector<std::string>& known,
                              const std::string& who) {
    for (const auto& [key, value] : state)
        if (std::find(known.begin(), known.end(), key) == known.end())
            fail<ValueError>("{}: unknown entry '{}'", who, key);
}

// ---- LrSchedule --------------------------------------------------------------------------------

double LrSchedule::base_lr(std::size_t group) const {
    if (group >= base_lrs_.size())
        fail<ValueError>("{}: group {} is out of range; there are {} parameter groups", name(), group,
                         base_lrs_.size());
    return base_lrs_[group];
}

std::optional<double> LrSchedule::momentum_at(std::size_t, std::size_t) const {
    return std::nullopt;
}

void LrSchedule::set_epoch(std::size_t epoch) {
    // Everything is computed and checked before the optimiser changes.
    const std::size_t groups = base_lrs_.size();
    std::vector<double> lrs(groups), momenta;
    for (std::size_t g = 0; g < groups; ++g) {
        lrs[g] = lr_at(epoch, g);
        check_option(lrs[g] >= 0 && std::isfinite(lrs[g]), fmt::format("{} at epoch {}", name(), epoch), "lr", lrs[g],
                     ">= 0 and finite");
        if (const auto m = momentum_at(epoch, g)) {
            optimizer_.check_momentum(g, *m);
            momenta.push_back(*m);
        }
    }
    optimizer_.set_lrs(lrs);
    if (!momenta.empty()) optimizer_.set_momenta(momenta);
    epoch_ = epoch;
}

void LrSchedule::start() {
    set_epoch(0);
    optimizer_.set_initial_lrs(base_lrs_);
}

LrScheduleState LrSchedule::state() const {
    LrScheduleState out{{"epoch", static_cast<double>(epoch())}};
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) out.emplace_back(fmt::format("base_lr.{}", g), base_lrs_[g]);
    return out;
}

std::pair<std::size_t, std::vector<double>> LrSchedule::parse(const LrScheduleState& state,
                                                              const std::string& who) const {
    std::vector<std::string> known{"epoch"};
    std::vector<double> base_lrs;
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
        known.push_back(fmt::format("base_lr.{}", g));
        base_lrs.push_back(entry(state, known.back(), who));
        check_option(base_lrs.back() >= 0 && std::isfinite(base_lrs.back()), who, known.back().c_str(), base_lrs.back(),
                     ">= 0 and finite");
    }
    check_known(state, known, who);
    return {count_entry(state, "epoch", who), std::move(base_lrs)};
}

void LrSchedule::load_state(const LrScheduleState& state) {
    auto [epoch, base_lrs] = parse(state, name() + "::load_state");
    std::swap(base_lrs_, base_lrs);
    try {
        set_epoch(epoch);  // changes nothing when it throws
    } catch (...) {
        std::swap(base_lrs_, base_lrs);
        throw;
    }
}

// ---- StepLR, CosineAnnealingLR -----------------------------------------------------------------

StepLR::StepLR(OptimizerBase& optimizer, std::size_t step_size, double gamma)
    : LrSchedule(optimizer), step_size_(step_size), gamma_(gamma) {
    check_option(step_size > 0, "StepLR", "step_size", static_cast<double>(step_size), "> 0");
    check_option(gamma >= 0 && std::isfinite(gamma), "StepLR", "gamma", gamma, ">= 0 and finite");
    start();
}

double StepLR::lr_at(std::size_t epoch, std::size_t group) const {
    return base_lr(group) * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

std::string StepLR::to_string() const {
    return fmt::format("StepLR(step_size={}, gamma={})", step_size_, gamma_);
}

CosineAnnealingLR::CosineAnnealingLR(OptimizerBase& optimizer, std::size_t t_max, double eta_min)
    : LrSchedule(optimizer), t_max_(t_max), eta_min_(eta_min) {
    check_option(t_max > 0, "CosineAnnealingLR", "T_max", static_cast<double>(t_max), "> 0");
    check_option(eta_min >= 0 && std::isfinite(eta_min), "CosineAnnealingLR", "eta_min", eta_min, ">= 0 and finite");
    start();
}

double CosineAnnealingLR::lr_at(std::size_t epoch, std::size_t group) const {
    const double phase = std::numbers::pi * static_cast<double>(epoch) / static_cast<double>(t_max_);
    return eta_min_ + (base_lr(group) - eta_min_) * (1 + std::cos(phase)) / 2;
}

std::string CosineAnnealingLR::to_string() const {
    return fmt::format("CosineAnnealingLR(T_max={}, eta_min={})", t_max_, eta_min_);
}

// ---- LambdaLR, LinearLR ------------------------------------------------------------------------

LambdaLR::LambdaLR(OptimizerBase& optimizer, Lambda lambda)
    : LambdaLR(optimizer, std::vector<Lambda>(optimizer.num_groups(), std::move(lambda))) {}

LambdaLR::LambdaLR(OptimizerBase& optimizer, std::vector<Lambda> lambdas)
    : LrSchedule(optimizer), lambdas_(std::move(lambdas)) {
    if (lambdas_.size() != optimizer.num_groups())
        fail<ValueError>("LambdaLR: {} lambdas for {} parameter groups; give one, or one per group", lambdas_.size(),
                         optimizer.num_groups());
    for (std::size_t g = 0; g < lambdas_.size(); ++g)
        if (!lambdas_[g]) fail<ValueError>("LambdaLR: the lambda of group {} is empty", g);
    start();
}

double LambdaLR::lr_at(std::size_t epoch, std::size_t group) const {
    return base_lr(group) * lambdas_.at(group)(epoch);
}

std::string LambdaLR::to_string() const {
    return fmt::format("LambdaLR(lambdas={})", lambdas_.size());
}

LinearLR::LinearLR(OptimizerBase& optimizer, double start_factor, double end_factor, std::size_t total_iters)
    : LrSchedule(optimizer), start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
    check_option(start_factor > 0 && start_factor <= 1, "LinearLR", "start_factor", start_factor, "in (0, 1]");
    check_option(end_factor >= 0 && end_factor <= 1, "LinearLR", "end_factor", end_factor, "in [0, 1]");
    check_option(total_iters > 0, "LinearLR", "total_iters", static_cast<double>(total_iters), "> 0");
    start();
}

double LinearLR::lr_at(std::size_t epoch, std::size_t group) const {
    const double done = static_cast<double>(std::min(epoch, total_iters_)) / static_cast<double>(total_iters_);
    return base_lr(group) * (start_factor_ + (end_factor_ - start_factor_) * done);
}

std::string LinearLR::to_string() const {
    return fmt::format("LinearLR(start_factor={}, end_factor={}, total_iters={})", start_factor_, end_factor_,
                       total_iters_);
}

}  // namespace tapegrad::optim
