#include <tapegrad/data/sampler.hpp>

#include <numeric>
#include <utility>

#include <tapegrad/autograd/errors.hpp>

namespace tapegrad::data {

std::vector<std::size_t> permutation(std::size_t n, Generator& gen) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[gen.below(i)]);
    return order;
}

DistributedSampler::DistributedSampler(std::size_t size, DistributedSamplerOptions options)
    : size_(size), options_(options) {
    if (options_.num_replicas == 0) fail<ValueError>("DistributedSampler: num_replicas is 0; it must be positive");
    if (options_.rank >= options_.num_replicas) {
        fail<ValueError>("DistributedSampler: rank {} is not in [0, {}) (num_replicas {})", options_.rank,
                         options_.num_replicas, options_.num_replicas);
    }
    const std::size_t n = options_.num_replicas;
    num_samples_ = options_.drop_last ? size_ / n : (size_ + n - 1) / n;
}

std::vector<std::size_t> DistributedSampler::indices() const {
    std::vector<std::size_t> order;
    if (options_.shuffle) {
        Generator gen(options_.seed + epoch_);
        order = permutation(size_, gen);
    } else {
        order.resize(size_);
        std::iota(order.begin(), order.end(), std::size_t{0});
    }
    const std::size_t n = options_.num_replicas;
    const std::size_t total = num_samples_ * n;
    // Padding repeats the order from its start, as many times as needed (PyTorch's rule).
    for (std::size_t i = 0; order.size() < total && size_ > 0; ++i) order.push_back(order[i % size_]);
    std::vector<std::size_t> mine;
    mine.reserve(num_samples_);
    for (std::size_t i = options_.rank; i < total; i += n) mine.push_back(order[i]);
    return mine;
}

}  // namespace tapegrad::data
