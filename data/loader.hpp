/// \file
/// DataLoader: a dataset cut into (optionally shuffled) minibatches, epoch after epoch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <vector>

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/data/sampler.hpp>

namespace tapegrad::data {

/// How a DataLoader cuts its dataset (torch.utils.data.DataLoader's arguments).
struct LoaderOptions {
    std::size_t batch_size = 128;  ///< > 0
    bool shuffle = true;           ///< a new random order every epoch
    std::uint64_t seed = 0;        ///< seeds the loader's own Generator
    bool drop_last = false;        ///< false keeps the last, smaller batch
};

/// A minibatch: features (batch x features, no gradient) and one label per row.
template <class T = float>
struct Batch {
    /// The samples' features, batch x features (a new tensor, no gradient).
    Tensor<T> x;
    /// The samples' class indices, one per row of x.
    Labels y;
};

/// Iterates a Dataset in minibatches. Each call to epoch() starts a new epoch: with shuffling, the
/// loader's Generator (seeded by options.seed) draws a fresh permutation (Fisher-Yates), so the
/// sequence of epochs is the same in every run with the same seed.
///
/// ```
/// DataLoader<float> loader(train, {.batch_size = 128, .seed = 1});
/// for (int e = 0; e < epochs; ++e)
///     for (const auto& [x, y] : loader.epoch()) ...
/// ```
///
/// The loader keeps a reference: the dataset must outlive it.
template <class T = float>
class DataLoader {
public:
    /// An input iterator over an epoch's batches: dereferencing makes the batch (batch(i)).
    class Iterator {
    public:
        /// A single-pass iterator: each dereference builds its batch anew.
        using iterator_category = std::input_iterator_tag;
        /// What dereferencing gives: a Batch, by value.
        using value_type = Batch<T>;
        /// The distance between two positions, in batches.
        using difference_type = std::ptrdiff_t;
        /// Batch `index` of `loader`'s current epoch (made by Epoch::begin() and Epoch::end()).
        Iterator(const DataLoader* loader, std::size_t index) : loader_(loader), index_(index) {}
        /// The batch at this position: loader.batch(index).
        Batch<T> operator*() const { return loader_->batch(index_); }
        /// Moves to the next batch.
        Iterator& operator++() {
            ++index_;
            return *this;
        }
        /// Same position (iterators of one epoch).
        bool operator==(const Iterator& other) const { return index_ == other.index_; }

    private:
        const DataLoader* loader_;
        std::size_t index_;
    };

    /// The batches of the current epoch, in order.
    class Epoch {
    public:
        /// The current epoch of `loader` (made by DataLoader::epoch()).
        explicit Epoch(const DataLoader* loader) : loader_(loader) {}
        /// The first batch.
        Iterator begin() const { return {loader_, 0}; }
        /// Past the last batch.
        Iterator end() const { return {loader_, loader_->size()}; }
        /// Batches in the epoch (DataLoader::size()).
        std::size_t size() const { return loader_->size(); }

    private:
        const DataLoader* loader_;
    };

    /// Throws ValueError when batch_size is 0, ShapeError when the dataset's images are not
    /// N x features with one label per row (check_dataset).
    DataLoader(const Dataset<T>& data, LoaderOptions options = {});
    /// A loader of `sampler`'s share of the dataset (PyTorch's DataLoader(..., sampler=...)): each
    /// epoch() sets the sampler's epoch to the number of epochs started before it and iterates its
    /// indices(); the sampler decides the order, so options.shuffle and options.seed are not used.
    /// ValueError when the sampler was built for another dataset size, as the other constructor's.
    DataLoader(const Dataset<T>& data, DistributedSampler sampler, LoaderOptions options = {});

    /// Batches per epoch: ceil(N / batch_size), or floor with drop_last.
    std::size_t size() const noexcept;
    /// Starts the next epoch (reshuffling when asked to, or taking the sampler's next order) and
    /// returns its batches.
    Epoch epoch();
    /// Starts epoch `index` (0-based) of a loader built over a DistributedSampler directly: the
    /// sampler's order for that epoch, as a resumed run needs; the next epoch() is index + 1.
    /// ValueError for a loader without a sampler, whose orders come from its generator's state
    /// (restore that instead: generator()).
    Epoch epoch(std::size_t index);
    /// Batch i of the current epoch (before the first epoch(), the order is the dataset's).
    /// Throws ValueError when i >= size(), ShapeError when the dataset no longer passes
    /// check_dataset or has changed its number of samples since the loader was built.
    Batch<T> batch(std::size_t i) const;
    /// The sample indices of the current epoch, in order.
    const std::vector<std::size_t>& order() const noexcept { return order_; }
    /// How many epochs have been started.
    std::size_t epochs() const noexcept { return epochs_; }
    /// The options it was built with.
    const LoaderOptions& options() const noexcept { return options_; }
    /// The generator that draws each epoch's order. Checkpoint its state() between epochs and
    /// set_state() it when resuming: the next epoch() then draws the order an uninterrupted run would.
    Generator& generator() noexcept { return gen_; }

private:
    const Dataset<T>* data_;
    LoaderOptions options_;
    Generator gen_;
    std::size_t samples_;  // the dataset's size when the loader was built
    std::optional<DistributedSampler> sampler_;
    std::vector<std::size_t> order_;
    std::size_t epochs_ = 0;
};

}  // namespace tapegrad::data
