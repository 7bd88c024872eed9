/// \file
/// Sample orders: a seeded permutation, and DistributedSampler, each rank's share of a dataset
/// for data-parallel training (torch.utils.data.distributed.DistributedSampler).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <tapegrad/autograd/random.hpp>

namespace tapegrad::data {

/// 0..n-1 in a random order drawn from `gen` (Fisher-Yates from the identity: the same on every
/// platform, unlike std::shuffle, whose use of the engine is left to the library vendor).
std::vector<std::size_t> permutation(std::size_t n, Generator& gen);

/// DistributedSampler's settings (PyTorch's arguments and defaults).
struct DistributedSamplerOptions {
    std::size_t num_replicas = 1;  ///< ranks sharing the dataset (distributed::world_size()); > 0
    std::size_t rank = 0;          ///< this rank (distributed::rank()); < num_replicas
    bool shuffle = true;           ///< a new order every epoch, the same on every rank
    std::uint64_t seed = 0;        ///< the order of epoch e is drawn from Generator(seed + e)
    /// false: pad the order by repeating its start so every rank gets ceil(N / num_replicas)
    /// samples; true: drop the tail so every rank gets floor(N / num_replicas).
    bool drop_last = false;
};

/// Rank `rank`'s share of a dataset of `size` samples, as PyTorch's DistributedSampler: each epoch
/// one order of all samples (shuffled from seed + epoch, identical on every rank, or 0..N-1),
/// padded or cut to a multiple of num_replicas, of which rank r takes positions r, r + num_replicas,
/// r + 2 num_replicas, ... So the ranks' shares are disjoint (but for the padding's repeats) and
/// every rank has the same number of samples, hence of batches: collectives stay paired.
/// A DataLoader built with one calls set_epoch() itself at each epoch() (PyTorch leaves it to the
/// user, and forgetting it repeats the first epoch's order every epoch).
class DistributedSampler {
public:
    /// ValueError when num_replicas is 0 or rank >= num_replicas.
    DistributedSampler(std::size_t size, DistributedSamplerOptions options);
    /// Chooses the epoch whose order indices() gives.
    void set_epoch(std::uint64_t epoch) noexcept { epoch_ = epoch; }
    /// The epoch set last (0 at first).
    std::uint64_t epoch() const noexcept { return epoch_; }
    /// This rank's sample indices for the current epoch, in order (num_samples() of them).
    std::vector<std::size_t> indices() const;
    /// Samples per rank and epoch.
    std::size_t num_samples() const noexcept { return num_samples_; }
    /// The dataset's size it was built for.
    std::size_t dataset_size() const noexcept { return size_; }
    /// The options it was built with.
    const DistributedSamplerOptions& options() const noexcept { return options_; }

private:
    std::size_t size_;
    DistributedSamplerOptions options_;
    std::size_t num_samples_;
    std::uint64_t epoch_ = 0;
};

}  // namespace tapegrad::data
