/// \file
/// The tape: this thread's ordered record of the ops that were recorded and are still alive.
#pragma once

#include <atomic>
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

    /// Bytes of the op outputs that this thread's live nodes hold as saved inputs: the activations a
    /// backward will read (each tensor counted once however many nodes saved it). Leaves (parameters,
    /// data) are not counted, nor tensors a backward rule keeps in its own closure. What gradient
    /// checkpointing (tapegrad::checkpoint) reduces; PyTorch has no direct counterpart
    /// (torch.cuda.max_memory_allocated measures every allocation). Per thread: the thread whose
    /// node saved a tensor counts it until the last node holding it is freed, on whatever thread
    /// (a graph recorded on a worker and freed by the main thread leaves neither count off).
    std::size_t saved_bytes() const noexcept;
    /// The highest saved_bytes() since the thread started or reset_peak_saved_bytes() (as
    /// torch.cuda.reset_peak_memory_stats), e.g. over one training step.
    std::size_t peak_saved_bytes() const noexcept;
    /// Starts a new peak at the current saved_bytes().
    void reset_peak_saved_bytes() noexcept;

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
    // Bumped by every prune (which erases entries, moving the rest): a walk that holds a position
    // in entries_ while backward rules run (which may record, and run backward passes of their own:
    // checkpoint) finds its place again by sequence when this changed.
    std::uint64_t prunes_ = 0;
};

namespace detail {

/// One thread's Tape::saved_bytes() and its peak. Tensors keep the counter of the thread that counted
/// them (TensorImpl::saved_counter), so it outlives its thread while they do.
struct SavedBytesCounter {
    /// Added to by its thread alone; subtracted from by any thread freeing a node.
    std::atomic<std::int64_t> total{0};
    /// Read and raised by its thread alone (only additions can raise it).
    std::int64_t peak = 0;
};

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
    /// How many prunes the tape has had (see Tape::prunes_).
    static std::uint64_t prunes(const Tape& tape) noexcept { return tape.prunes_; }
    /// The sequence the next recorded node will get, without taking it.
    static std::uint64_t upcoming_sequence(const Tape& tape) noexcept { return tape.next_sequence_; }
    /// A node on this thread saved a tensor of `bytes` no other live node holds (Tape::saved_bytes()):
    /// added to this thread's count, which is returned for release_saved().
    static std::shared_ptr<SavedBytesCounter> count_saved(std::size_t bytes);
    /// The last live node holding such a tensor let go of it, on any thread: the bytes leave the
    /// count of the thread that counted them.
    static void release_saved(SavedBytesCounter& counter, std::size_t bytes) noexcept;
};

}  // namespace detail

}  // namespace tapegrad
