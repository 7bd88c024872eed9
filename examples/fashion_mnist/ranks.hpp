// The processes a run of the main job is spread over: this one alone, or (--distributed) every rank
// of an MPI job, each training on its share of every batch. What the training loop needs of them:
// sums of metrics, agreement on stopping, the model wrapped for gradient averaging.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace fashion {

class Ranks {
public:
    /// One process, or with `distributed` the MPI job this process belongs to (tapegrad::distributed
    /// ::init(); a program started without mpirun is a job of one). ValueError when `distributed` is
    /// asked of a build without tapegrad::distributed (MPI was not found when it was configured).
    explicit Ranks(bool distributed);

    bool distributed() const noexcept { return distributed_; }
    int rank() const noexcept { return rank_; }
    int size() const noexcept { return size_; }

    /// Replaces each value by its sum over the ranks (every rank gets the same bits).
    void sum(std::vector<double>& values) const;
    /// The largest of the ranks' `value`: the signal that stops the run, if any rank received one,
    /// so that every rank stops after the same step.
    int max(int value) const;
    /// Waits for every rank (after rank 0 wrote a checkpoint the others may read).
    void barrier() const;
    /// `model` itself, or distributed a DataParallel over it (rank 0's weights copied to every rank,
    /// gradients averaged during backward).
    std::shared_ptr<tapegrad::nn::Module<float>> wrap(std::shared_ptr<tapegrad::nn::Module<float>> model) const;
    /// Copies rank 0's buffers (batch norm's running statistics, which each rank updates from its own
    /// share of the data) to every rank: what rank 0 saves, every rank then evaluates with.
    void share_buffers(tapegrad::nn::Module<float>& model) const;
    /// Ends the run after an error. Alone: returns (main returns 1). Distributed: ends every rank of the
    /// job with `message` (MPI_Abort), since the others would wait for this one forever.
    void fail(const std::string& message) const;

private:
    bool distributed_;
    int rank_ = 0;
    int size_ = 1;
};

}  // namespace fashion
