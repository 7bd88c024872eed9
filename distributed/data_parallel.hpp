/// \file
/// DataParallel: PyTorch's DistributedDataParallel over MPI. Each rank runs the same model on its
/// own share of the batch; during backward the gradients are averaged across ranks in buckets, each
/// bucket's allreduce started as soon as its gradients are final, so communication overlaps the rest
/// of the backward pass.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <tapegrad/distributed/collectives.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::distributed {

/// DataParallel's settings (DistributedDataParallel's keyword arguments, PyTorch's defaults).
struct DataParallelOptions {
    /// A bucket's size in MiB: gradients are reduced in buckets of about this size (the last
    /// parameters first, as they finish first in backward). Smaller buckets start communicating
    /// sooner, larger ones pay the per-message latency less often. Must be positive.
    double bucket_cap_mb = 25;
    /// Before each forward, copy rank 0's buffers (batch norm's running statistics) to every rank.
    bool broadcast_buffers = true;
    /// After each synchronised forward, walk the output's graph (graph_leaves()) and count the
    /// parameters it does not reach as done with a zero gradient, so that a model whose forward
    /// skips some parameters, on some ranks or on all, still averages the others. Costs a walk of
    /// the graph per forward and one more small allreduce per backward (which parameters were
    /// used anywhere). Off by default, as PyTorch's.
    bool find_unused_parameters = false;
};

/// Wraps a module for data-parallel training (torch.nn.parallel.DistributedDataParallel):
/// - At construction every rank's module must have the same parameters and buffers (names and
///   shapes): a difference is a DistributedError on every rank naming the first differing entry and
///   the ranks that differ, never a hang. Then rank 0's parameters and buffers are copied to every
///   rank, so all start equal.
/// - forward(x) runs the module (its parameter names gain the prefix "module.", as PyTorch's).
/// - backward() on a loss computed from the output leaves in each parameter's .grad() the mean of
///   the ranks' gradients. Buckets of about bucket_cap_mb are formed in reverse registration order;
///   each bucket's allreduce is started (non-blocking) from the post-accumulate hook of its last
///   parameter to become final, always in bucket order on every rank (MPI needs the same order
///   everywhere); the last hook reduces the last bucket with the blocking collective (nothing is
///   left to overlap, and it is the faster one), waits for the others and writes the averages back
///   into the gradients, so backward() returns with them in place.
/// - no_sync(): while the returned guard lives, backward passes accumulate gradients locally without
///   communicating (gradient accumulation); the first backward after it averages the accumulated
///   gradients.
/// - Every rank must call backward after every forward it synchronises, and every parameter that
///   requires grad must receive a gradient in each synchronised backward: a parameter left without
///   one is an AutogradError at the next forward, naming it. With find_unused_parameters, the
///   parameters the forward's graph does not reach count as done at once with a zero gradient
///   (PyTorch's rule): one used on some ranks only gets the mean over all ranks (the others adding
///   zero) in its .grad(), created where it had none; one used on no rank keeps its .grad() as it
///   was (undefined after zero_grad()), so an optimiser leaves it alone. Only the output of
///   forward() is walked: the loss must be computed from it.
/// Not supported (as in PyTorch's default): several backward passes over one forward, create_graph.
template <class T = float>
class DataParallel : public nn::Module<T> {
public:
    /// Wraps `module` (shared: the caller may keep using it, e.g. to save its state_dict).
    /// ValueError for a null module or a bucket_cap_mb that is not positive.
    explicit DataParallel(std::shared_ptr<nn::Module<T>> module, DataParallelOptions options = {});
    ~DataParallel() override;
    DataParallel(const DataParallel&) = delete;
    DataParallel& operator=(const DataParallel&) = delete;

    /// module(x), after broadcasting rank 0's buffers (broadcast_buffers) and checking that the
    /// previous synchronised backward reduced every gradient.
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "DataParallel"; }
    /// The wrapped module.
    nn::Module<T>& module() { return *module_; }

    /// Suspends gradient averaging while alive (DistributedDataParallel.no_sync()).
    class NoSync {
    public:
        /// Resumes averaging.
        ~NoSync();
        NoSync(const NoSync&) = delete;
        NoSync& operator=(const NoSync&) = delete;

    private:
        friend class DataParallel;
        explicit NoSync(DataParallel& owner);
        DataParallel& owner_;
    };
    /// While the guard lives, backward accumulates gradients locally.
    [[nodiscard]] NoSync no_sync() { return NoSync(*this); }

    /// The number of buckets and each one's size in bytes, last parameters first.
    std::vector<std::size_t> bucket_bytes() const;

    /// What one synchronised backward spent waiting for communication: the seconds the last
    /// parameter's hook waited for every bucket to finish (communication not hidden behind the
    /// backward), and the seconds from the first bucket's start to that point (for the bench's
    /// share of allreduce time hidden behind backward).
    struct Timing {
        double exposed_seconds = 0;  ///< waited at the end of backward
        double span_seconds = 0;     ///< first bucket started to the last one done
    };
    /// The last synchronised backward's Timing.
    Timing last_timing() const;

private:
    struct State;
    std::shared_ptr<nn::Module<T>> module_;
    std::shared_ptr<State> state_;
    bool broadcast_buffers_ = true;
};

}  // namespace tapegrad::distributed
