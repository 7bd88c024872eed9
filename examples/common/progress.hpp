// A progress bar for one epoch on stderr: redrawn in place on a terminal, silent otherwise; one
// summary line per epoch on stdout either way.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace examples {

class ProgressBar {
public:
    /// `label` prefixes the bar, e.g. "epoch 3/12"; `total` batches make up the epoch.
    ProgressBar(std::string label, std::size_t total);

    /// After each batch: batches done, the running mean training loss and samples seen so far.
    /// Redraws at most ten times a second (and at the last batch).
    void update(std::size_t done, double running_loss, std::size_t samples);
    /// Clears the bar and prints `summary` as a line of its own on stdout.
    void finish(const std::string& summary);

    double seconds() const;

private:
    using Clock = std::chrono::steady_clock;
    std::string label_;
    std::size_t total_;
    bool tty_;
    Clock::time_point start_;
    Clock::time_point last_draw_;
};

}  // namespace examples
