#include <tapegrad/autograd/anomaly_hooks.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <unordered_map>

#include <tapegrad/autograd/tape.hpp>

namespace tapegrad {

using detail::NodeBase;

namespace {

// Where ops run: a scope's (or the guard's) label and source location, interned so that a
// training loop re-entering the same scopes does not grow anything.
struct Place {
    std::string label;
    SourceLocation where;
    bool is_scope;
};

struct Origin {
    std::uint64_t index;  // among the ops run since detection was turned on
    std::size_t place;
};

struct State {
    std::vector<Place> places;
    std::size_t current_place = 0;
    std::uint64_t op_count = 0;
    std::uint64_t last_index = 0;
    const NodeBase* in_backward = nullptr;
    std::unordered_map<std::uint64_t, Origin> origins;  // by tape sequence
    std::size_t live_after_prune = 0;
};

State& state() {
    thread_local State s;
    return s;
}

std::size_t intern(std::string_view label, const SourceLocation& where, bool is_scope) {
    auto& places = state().places;
    for (std::size_t i = 0; i < places.size(); ++i) {
        const auto& p = places[i];
        if (p.is_scope == is_scope && p.label == label && p.where.line() == where.line() &&
            p.where.column() == where.column() && std::string_view(p.where.file_name()) == where.file_name()) {
            return i;
        }
    }
    places.push_back({std::string(label), where, is_scope});
    return places.size() - 1;
}

std::string place_str(std::size_t id) {
    const auto& p = state().places.at(id);
    const std::string at = fmt::format("{}:{} in '{}'", p.where.file_name(), p.where.line(), p.where.function_name());
    if (!p.is_scope) return fmt::format("no anomaly_scope active; DetectAnomalyGuard at {}", at);
    return p.label.empty() ? fmt::format("anomaly_scope at {}", at)
                           : fmt::format("anomaly_scope \"{}\" at {}", p.label, at);
}

template <class T>
std::string stats_str(const Shape& shape, const T* data, std::size_t n) {
    if (n == 0) return fmt::format("shape {}, no elements", shape_str(shape));
    std::size_t nans = 0, infs = 0;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::size_t i = 0; i < n; ++i) {
        const double v = data[i];
        if (std::isnan(v)) {
            ++nans;
            continue;
        }
        if (std::isinf(v)) ++infs;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    if (nans == n) return fmt::format("shape {}, all {} elements NaN", shape_str(shape), n);
    return fmt::format("shape {}, min {}, max {}, {} NaN, {} infinite", shape_str(shape), lo, hi, nans, infs);
}

template <class T>
std::string stats_str(const Tensor<T>& t) {
    if (!t.defined()) return "undefined";
    return stats_str(t.shape(), t.value().data(), t.numel());
}

template <class T>
bool all_finite(const T* data, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(data[i])) return false;
    }
    return true;
}

template <class T>
std::string inputs_str(std::span<const Tensor<T>> inputs) {
    std::string out;
    for (std::size_t i = 0; i < inputs.size(); ++i) out += fmt::format("\n  input {}: {}", i, stats_str(inputs[i]));
    return out;
}

std::string origin_str(const NodeBase& node) {
    const auto& origins = state().origins;
    const auto it = origins.find(node.sequence());
    if (it == origins.end()) return "recorded before anomaly detection was turned on";
    return fmt::format("op #{} of the forward, {}", it->second.index, place_str(it->second.place));
}

// Drops origins of nodes that are gone, when they could outnumber the live ones.
void prune_origins() {
    auto& s = state();
    if (s.origins.size() < 2 * s.live_after_prune + 1024) return;
    const auto& entries = detail::TapeAccess::entries(Tape::current());
    std::erase_if(s.origins, [&entries](const auto& kv) {
        auto it =
            std::lower_bound(entries.begin(), entries.end(), kv.first,
                             [](const detail::TapeAccess::Entry& e, std::uint64_t seq) { return e.sequence < seq; });
        if (it == entries.end() || it->sequence != kv.first) return true;
        auto node = it->node.lock();
        return !node || node->released();
    });
    s.live_after_prune = s.origins.size();
}

}  // namespace

DetectAnomalyGuard::DetectAnomalyGuard(bool enabled, SourceLocation where)
    : previous_(detail::anomaly_enabled), previous_place_(state().current_place) {
    auto& s = state();
    s.current_place = intern("", where, false);
    if (enabled && !previous_) s.op_count = 0;
    detail::anomaly_enabled = enabled;
}

DetectAnomalyGuard::~DetectAnomalyGuard() {
    auto& s = state();
    s.current_place = previous_place_;
    detail::anomaly_enabled = previous_;
    if (!previous_) s.origins.clear();
}

AnomalyScope::AnomalyScope(std::string_view label, SourceLocation where) : active_(detail::anomaly_enabled) {
    if (!active_) return;
    auto& s = state();
    previous_place_ = s.current_place;
    s.current_place = intern(label, where, true);
}

AnomalyScope::~AnomalyScope() {
    if (active_) state().current_place = previous_place_;
}

namespace detail {

AnomalyBackwardContext::AnomalyBackwardContext(const NodeBase& node) : previous_(state().in_backward) {
    state().in_backward = &node;
}

AnomalyBackwardContext::~AnomalyBackwardContext() {
    state().in_backward = previous_;
}

template <class T>
void anomaly_check_incoming(const NodeBase& node, const Tensor<T>& incoming) {
    if (!incoming.defined() || all_finite(incoming.value().data(), incoming.numel())) return;
    fail<AnomalyError>(
        "anomaly: the gradient flowing into the output of '{}' ({}) holds a NaN or an infinity, "
        "though every op's gradient was checked: the seed held it, or the sum of its "
        "contributions overflowed\n  gradient: {}",
        node.name(), origin_str(node), stats_str(incoming));
}

template <class T>
void anomaly_check_backward(const NodeBase& node, std::span<const Tensor<T>> inputs, const Tensor<T>& incoming,
                            const Grads<T>& grads) {
    for (std::size_t i = 0; i < grads.size(); ++i) {
        const auto& g = grads[i];
        if (!g.defined() || all_finite(g.value().data(), g.numel())) continue;
        fail<AnomalyError>(
            "anomaly: the backward of '{}' ({}) produced a NaN or an infinity in the gradient for "
            "input {}\n  that gradient: {}\n  gradient into its output: {}{}",
            node.name(), origin_str(node), i, stats_str(g), stats_str(incoming), inputs_str(inputs));
    }
}

template <class T>
void anomaly_check_forward(const char* op, std::span<const Tensor<T>> inputs, const xt::xarray<T>& value) {
    auto& s = state();
    // Inside a backward rule, the rule's whole result is checked once it returns, and reported
    // with the node, its inputs and its incoming gradient: more useful than the inner op's name.
    if (s.in_backward) return;
    s.last_index = ++s.op_count;
    if (all_finite(value.data(), value.size())) return;
    const Shape shape(value.shape().begin(), value.shape().end());
    fail<AnomalyError>(
        "anomaly: '{}' (op #{} since anomaly detection was turned on, {}) produced a NaN or an "
        "infinity\n  result: {}{}",
        op, s.last_index, place_str(s.current_place), stats_str(shape, value.data(), value.size()), inputs_str(inputs));
}

void anomaly_note_recorded(std::uint64_t sequence) {
    auto& s = state();
    if (s.in_backward) return;  // a create_graph backward's ops are reported through their rule's node
    s.origins[sequence] = {s.last_index, s.current_place};
    prune_origins();
}

#define TAPEGRAD_INSTANTIATE(T)                                                                         \
    template void anomaly_check_forward(const char*, std::span<const Tensor<T>>, const xt::xarray<T>&); \
    template void anomaly_check_incoming(const NodeBase&, const Tensor<T>&);                            \
    template void anomaly_check_backward(const NodeBase&, std::span<const Tensor<T>>, const Tensor<T>&, \
                                         const Grads<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace detail

}  // namespace tapegrad
