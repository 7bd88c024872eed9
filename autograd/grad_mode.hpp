/// \file
/// Thread-local grad mode and the RAII guards that switch it.
#pragma once

namespace tapegrad {

/// True when ops record themselves on the tape (the default, per thread).
bool is_grad_enabled() noexcept;
/// Turns recording on or off for this thread (torch::autograd::set_grad_enabled); the guards
/// below restore the previous mode when their scope ends, even on an exception.
void set_grad_enabled(bool enabled) noexcept;

/// Sets grad mode for a scope and restores the previous mode on exit.
class GradModeGuard {
public:
    /// Sets grad mode to `enabled` on this thread until the guard is destroyed.
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
    /// Turns recording off on this thread until the guard is destroyed.
    NoGradGuard() : GradModeGuard(false) {}
};

}  // namespace tapegrad
