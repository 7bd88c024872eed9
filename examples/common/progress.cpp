#include "progress.hpp"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace examples {

ProgressBar::ProgressBar(std::string label, std::size_t total)
    : label_(std::move(label)),
      total_(total),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(Clock::now()),
      last_draw_(start_) {}

double ProgressBar::seconds() const {
    return std::chrono::duration<double>(Clock::now() - start_).count();
}

void ProgressBar::update(std::size_t done, double running_loss, std::size_t samples) {
    if (!tty_) return;
    const auto now = Clock::now();
    if (done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    const double elapsed = seconds();
    const double rate = elapsed > 0 ? samples / elapsed : 0;
    const double eta = done > 0 ? elapsed * static_cast<double>(total_ - done) / static_cast<double>(done) : 0;
    constexpr std::size_t width = 30;
    const std::size_t filled = total_ ? width * done / total_ : width;
    // \r returns to the line start; \033[K clears what a longer previous draw left behind.
    fmt::print(stderr, "\r{} [{}{}] {}/{} loss {:.4f} {:.0f} samples/s ETA {:.1f}s\033[K", label_,
               std::string(filled, '#'), std::string(width - filled, '.'), done, total_, running_loss, rate, eta);
    std::fflush(stderr);
}

void ProgressBar::finish(const std::string& summary) {
    if (tty_) {
        fmt::print(stderr, "\r\033[K");
        std::fflush(stderr);
    }
    fmt::print("{}\n", summary);
    std::fflush(stdout);
}

}  // namespace examples
