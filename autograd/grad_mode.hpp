// Thread-local grad mode and the RAII guards that switch it.
#pragma once

namespace tapegrad {

/// True when ops record themselves on the tape (the default, per thread).
bool is_grad_enabled() noexcept;
void set_grad_enabled(bool enabled) noexcept;

/// Sets grad mode for a scope and restores the previous mode on exit.
class GradModeGuard {
public:
    explicit GradModeGuard(bool enabled) : previous_(is_grad_enabled()) { set_grad_enabled(enabled); }
    ~GradModeGuard() { set_grad_enabled(previous_); }
    GradModeGuard(const GradModeGuard&) = delete;
    GradModeGuard& operator=(const GradModeGuard&) = delete;

private:
    bool previous_;
};

/// Nothing is recorded in its scope (torch::NoGradGuard): evaluation, optimiser updates.
class NoGradGuard : public GradModeGuard {
public:
    NoGradGuard() : GradModeGuard(false) {}
};

}  // namespace tapegrad
