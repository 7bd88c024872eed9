/// \file
/// Collectives on tensors across the process group (torch.distributed's all_reduce, broadcast,
/// all_gather, reduce_scatter), blocking or asynchronous with a handle to wait on.
#pragma once

#include <memory>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/distributed/process_group.hpp>

namespace tapegrad::distributed {

/// How all_reduce and reduce_scatter combine the ranks' values (torch.distributed.ReduceOp).
/// Mean is Sum divided by the world size (PyTorch's AVG, which its MPI backend lacks).
enum class ReduceOp { Sum, Mean, Max };

/// A collective in flight (torch.distributed's Work): wait() blocks until it is complete and its
/// result is in the tensors it writes; until then those tensors must not be read or changed.
/// Destroying an unfinished Work waits for it (the buffers it writes must outlive the transfer).
class Work {
public:
    /// A Work already complete (what a world of one returns).
    Work();
    /// Takes over `other`'s collective (`other` is then complete and empty).
    Work(Work&& other) noexcept;
    /// Waits for this Work's own collective, then takes over `other`'s.
    Work& operator=(Work&& other) noexcept;
    ~Work();
    /// Blocks until the collective is complete and its result written; DistributedError if the
    /// transport failed. Calling it again does nothing.
    void wait();
    /// Whether the collective is complete (does not block; true after wait()).
    bool is_completed();

    /// What an asynchronous collective hands over; built by the collectives only.
    struct State;
    /// Wraps a started collective.
    explicit Work(std::unique_ptr<State> state);

private:
    std::unique_ptr<State> state_;
};

/// Combines `t` across ranks in place: afterwards every rank holds the sum (mean, max) of every
/// rank's values (torch.distributed.all_reduce). The value is changed in place as optimisers do
/// (the version counter is bumped: a graph that saved `t` refuses to backward through the old value).
/// Every rank must pass a tensor of the same shape and dtype and the same op, else DistributedError
/// on every rank naming the ranks' shapes. Sums are computed in an order Open MPI fixes by message
/// size and world size, each element reduced once or symmetrically (docs/distributed.md), so every
/// rank gets bitwise the same result and a rerun with the same inputs the same bits.
template <class T>
void all_reduce(Tensor<T>& t, ReduceOp op = ReduceOp::Sum);
/// all_reduce started in the background: returns at once; `t` holds the result after wait().
template <class T>
Work all_reduce_async(Tensor<T>& t, ReduceOp op = ReduceOp::Sum);

/// Overwrites `t` on every rank with rank `root`'s value (torch.distributed.broadcast).
/// ValueError for a root outside [0, world_size()); DistributedError when ranks disagree on the
/// shape, dtype or root.
template <class T>
void broadcast(Tensor<T>& t, int root = 0);
/// broadcast started in the background; `t` holds root's value after wait().
template <class T>
Work broadcast_async(Tensor<T>& t, int root = 0);

/// Every rank's `t`, in rank order, stacked along a new first dim: [world_size, *t.shape]
/// (torch.distributed.all_gather_into_tensor with the ranks stacked). Same shapes on every rank.
template <class T>
Tensor<T> all_gather(const Tensor<T>& t);
/// all_gather started in the background: the result tensor is allocated at once and filled by
/// wait(); `t` must not change before then.
template <class T>
Work all_gather_async(const Tensor<T>& t, Tensor<T>& result);

/// Reduces `t` across ranks and gives each rank its share: t's first dim (of size world_size() * k)
/// is split into world_size() blocks of k rows and rank r receives the reduction of block r
/// (torch.distributed.reduce_scatter_tensor). ShapeError when the first dim is not a multiple of the
/// world size (or t is 0-d).
template <class T>
Tensor<T> reduce_scatter(const Tensor<T>& t, ReduceOp op = ReduceOp::Sum);
/// reduce_scatter started in the background; `result` is allocated at once and filled by wait().
template <class T>
Work reduce_scatter_async(const Tensor<T>& t, Tensor<T>& result, ReduceOp op = ReduceOp::Sum);

namespace detail {
/// all_reduce_async without the ranks' agreement check (one small allgather per call, which would
/// make every rank wait for the others): for callers that established the agreement once, as
/// DataParallel does for its buckets at construction.
template <class T>
Work all_reduce_unchecked_async(Tensor<T>& t, ReduceOp op);
/// The blocking one, likewise unchecked.
template <class T>
void all_reduce_unchecked(Tensor<T>& t, ReduceOp op);
}  // namespace detail

}  // namespace tapegrad::distributed
