#include <tapegrad/nn/schedule.hpp>

#include <cmath>
#include <numbers>

#include <fmt/format.h>

namespace tapegrad::optim {

void LrSchedule::set_epoch(std::size_t epoch) {
    epoch_ = epoch;
    optimizer_.set_lr(lr_at(epoch));
}

std::string LrSchedule::name() const {
    const std::string text = to_string();
    return text.substr(0, text.find('('));
}

void LrSchedule::load_state(const LrScheduleState& state) {
    const std::string kind = name();
    check_option(state.base_lr >= 0 && std::isfinite(state.base_lr), kind.c_str(), "base_lr", state.base_lr,
                 ">= 0 and finite");
    base_lr_ = state.base_lr;
    set_epoch(state.epoch);
}

StepLR::StepLR(OptimizerBase& optimizer, std::size_t step_size, double gamma)
    : LrSchedule(optimizer), step_size_(step_size), gamma_(gamma) {
    check_option(step_size > 0, "StepLR", "step_size", static_cast<double>(step_size), "> 0");
    check_option(gamma >= 0 && std::isfinite(gamma), "StepLR", "gamma", gamma, ">= 0 and finite");
}

double StepLR::lr_at(std::size_t epoch) const {
    return base_lr() * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

std::string StepLR::to_string() const {
    return fmt::format("StepLR(step_size={}, gamma={})", step_size_, gamma_);
}

CosineAnnealingLR::CosineAnnealingLR(OptimizerBase& optimizer, std::size_t t_max, double eta_min)
    : LrSchedule(optimizer), t_max_(t_max), eta_min_(eta_min) {
    check_option(t_max > 0, "CosineAnnealingLR", "T_max", static_cast<double>(t_max), "> 0");
    check_option(eta_min >= 0 && std::isfinite(eta_min), "CosineAnnealingLR", "eta_min", eta_min, ">= 0 and finite");
}

double CosineAnnealingLR::lr_at(std::size_t epoch) const {
    const double phase = std::numbers::pi * static_cast<double>(epoch) / static_cast<double>(t_max_);
    return eta_min_ + (base_lr() - eta_min_) * (1 + std::cos(phase)) / 2;
}

std::string CosineAnnealingLR::to_string() const {
    return fmt::format("CosineAnnealingLR(T_max={}, eta_min={})", t_max_, eta_min_);
}

}  // namespace tapegrad::optim
