#include <tapegrad/autograd/tape.hpp>

#include <algorithm>

#include <fmt/format.h>

namespace tapegrad {

namespace {
// This thread's count. Tensors that it counted hold it too, so nodes freed at thread exit (by
// thread_local tensors destroyed after this pointer) still give their bytes back safely.
const std::shared_ptr<detail::SavedBytesCounter>& this_thread_counter() {
    thread_local const auto counter = std::make_shared<detail::SavedBytesCounter>();
    return counter;
}

detail::SavedBytesCounter& saved_counter() {
    return *this_thread_counter();
}
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
    return static_cast<std::size_t>(saved_counter().total.load(std::memory_order_relaxed));
}

std::size_t Tape::peak_saved_bytes() const noexcept {
    return static_cast<std::size_t>(saved_counter().peak);
}

void Tape::reset_peak_saved_bytes() noexcept {
    auto& counter = saved_counter();
    counter.peak = counter.total.load(std::memory_order_relaxed);
}

std::shared_ptr<detail::SavedBytesCounter> detail::TapeAccess::count_saved(std::size_t bytes) {
    const auto& counter = this_thread_counter();
    const auto added = static_cast<std::int64_t>(bytes);
    counter->peak = std::max(counter->peak, counter->total.fetch_add(added, std::memory_order_relaxed) + added);
    return counter;
}

void detail::TapeAccess::release_saved(SavedBytesCounter& counter, std::size_t bytes) noexcept {
    counter.total.fetch_sub(static_cast<std::int64_t>(bytes), std::memory_order_relaxed);
}

}  // namespace tapegrad
