#include <tapegrad/autograd/tape.hpp>

#include <algorithm>

#include <fmt/format.h>

namespace tapegrad {

namespace {
// Trivially destructible, unlike the tape: nodes freed at thread exit (by thread_local tensors
// destroyed after the tape) still count here safely.
constinit thread_local std::int64_t saved_total = 0;  // signed: see Tape::saved_bytes()
constinit thread_local std::int64_t saved_peak = 0;
}  // namespace

Tape& Tape::current() {
    thread_local Tape tape;
    return tape;
}

void Tape::push(std::uint64_t sequence, std::weak_ptr<detail::NodeBase> node) {
    entries_.push_back({sequence, std::move(node)});
    // Outputs that die leave expired entries; sweep when they could outnumber live ones,
    // which keeps the tape's size proportional to the live graph (amortised O(1) per op).
    if (entries_.size() >= 2 * live_after_prune_ + 1024) prune();
}

void Tape::prune() {
    std::erase_if(entries_, [](const Entry& e) {
        if (e.node.expired()) return true;  // most are, after a backward: no lock (two atomics) for them
        auto node = e.node.lock();
        return !node || node->released();
    });
    live_after_prune_ = entries_.size();
    ++prunes_;
}

std::size_t Tape::size() const {
    return static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(), [](const auto& e) {
        auto node = e.node.lock();
        return node && !node->released();
    }));
}

std::vector<std::string> Tape::op_names() const {
    std::vector<std::string> names;
    for (const auto& e : entries_) {
        if (auto node = e.node.lock(); node && !node->released()) names.emplace_back(node->name());
    }
    return names;
}

std::string Tape::to_string() const {
    std::string out;
    for (const auto& e : entries_) {
        if (auto node = e.node.lock(); node && !node->released()) {
            out += fmt::format("#{} {}{}\n", node->sequence(), node->name(), node->is_double() ? "" : " (float32)");
        }
    }
    return out;
}

std::size_t Tape::saved_bytes() const noexcept {
    return saved_total > 0 ? static_cast<std::size_t>(saved_total) : 0;
}

std::size_t Tape::peak_saved_bytes() const noexcept {
    return static_cast<std::size_t>(saved_peak);
}

void Tape::reset_peak_saved_bytes() noexcept {
    saved_peak = static_cast<std::int64_t>(saved_bytes());
}

void detail::TapeAccess::note_saved(std::int64_t bytes) noexcept {
    saved_total += bytes;
    saved_peak = std::max(saved_peak, saved_total);
}

}  // namespace tapegrad
