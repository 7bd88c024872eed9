/// \file
/// The tape: this thread's ordered record of the ops that were recorded and are still alive.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <tapegrad/autograd/node.hpp>

namespace tapegrad {

namespace detail {
struct TapeAccess;
}  // namespace detail

/// Nodes are owned by the tensors they produced (so a graph nobody holds is freed at once,
/// as in PyTorch); the tape holds them weakly in creation order, which is what lets
/// backward be a single reverse loop. Each thread has its own tape.
class Tape {
public:
    /// The calling thread's tape.
    static Tape& current();

    /// Ops recorded and not yet freed (by a backward without retain_graph, or by their
    /// outputs going out of scope).
    std::size_t size() const;
    /// Their names, oldest first.
    std::vector<std::string> op_names() const;
    /// One line per op: `#sequence name`.
    std::string to_string() const;

private:
    friend struct detail::TapeAccess;
    // One recorded op, as the engine walks it; expired once the node's output tensor is gone.
    struct Entry {
        std::uint64_t sequence;
        std::weak_ptr<detail::NodeBase> node;
    };
    /// The number the next recorded node gets.
    std::uint64_t next_sequence() noexcept { return next_sequence_++; }
    /// Appends a node recorded as `sequence`.
    void push(std::uint64_t sequence, std::weak_ptr<detail::NodeBase> node);
    /// Drops entries whose node is gone or released.
    void prune();

    std::vector<Entry> entries_;
    std::size_t live_after_prune_ = 0;
    std::uint64_t next_sequence_ = 0;
};

namespace detail {

/// The engine's access to the tape: record() numbers and appends nodes, backward walks the entries
/// (in creation order; expired ones remain until the next prune) and, without retain_graph, prunes.
/// The one friend of Tape.
struct TapeAccess {
    using Entry = Tape::Entry;
    static const std::vector<Entry>& entries(const Tape& tape) noexcept { return tape.entries_; }
    static std::uint64_t next_sequence(Tape& tape) noexcept { return tape.next_sequence(); }
    static void push(Tape& tape, std::uint64_t sequence, std::weak_ptr<detail::NodeBase> node) {
        tape.push(sequence, std::move(node));
    }
    static void prune(Tape& tape) { tape.prune(); }
};

}  // namespace detail

}  // namespace tapegrad
