#include <tapegrad/data/loader.hpp>

#include <algorithm>
#include <numeric>
#include <utility>

namespace tapegrad::data {

template <class T>
DataLoader<T>::DataLoader(const Dataset<T>& data, LoaderOptions options)
    : data_(&data), options_(options), gen_(options.seed), samples_(data.size()), order_(data.size()) {
    if (options_.batch_size == 0) fail<ValueError>("DataLoader: batch_size is 0; it must be positive");
    check_dataset("DataLoader", data);
    std::iota(order_.begin(), order_.end(), std::size_t{0});
}

template <class T>
DataLoader<T>::DataLoader(const Dataset<T>& data, DistributedSampler sampler, LoaderOptions options)
    : data_(&data), options_(options), gen_(options.seed), samples_(data.size()), sampler_(std::move(sampler)) {
    if (options_.batch_size == 0) fail<ValueError>("DataLoader: batch_size is 0; it must be positive");
    check_dataset("DataLoader", data);
    if (sampler_->dataset_size() != samples_) {
        fail<ValueError>("DataLoader: the sampler was built for {} samples, the dataset has {}",
                         sampler_->dataset_size(), samples_);
    }
    order_ = sampler_->indices();
}

template <class T>
std::size_t DataLoader<T>::size() const noexcept {
    const std::size_t n = order_.size();
    const std::size_t b = options_.batch_size;
    return options_.drop_last ? n / b : (n + b - 1) / b;
}

template <class T>
typename DataLoader<T>::Epoch DataLoader<T>::epoch() {
    if (sampler_) {
        sampler_->set_epoch(epochs_);
        order_ = sampler_->indices();
    } else if (options_.shuffle) {
        order_ = permutation(samples_, gen_);
    }
    ++epochs_;
    return Epoch(this);
}

template <class T>
typename DataLoader<T>::Epoch DataLoader<T>::epoch(std::size_t index) {
    if (!sampler_) {
        fail<ValueError>(
            "DataLoader::epoch({}): the loader has no sampler; its orders come from its generator, "
            "whose state a resumed run restores",
            index);
    }
    epochs_ = index;
    return epoch();
}

template <class T>
Batch<T> DataLoader<T>::batch(std::size_t i) const {
    if (i >= size()) fail<ValueError>("DataLoader: batch {} is out of range; an epoch has {} batches", i, size());
    // The dataset is the caller's and its members are public: it may have changed since.
    check_dataset("DataLoader::batch", *data_);
    if (data_->size() != samples_)
        fail<ShapeError>("DataLoader::batch: the dataset has {} samples but had {} when the loader was built",
                         data_->size(), samples_);
    const std::size_t begin = i * options_.batch_size;
    const std::size_t end = std::min(begin + options_.batch_size, order_.size());
    const std::size_t features = data_->features();

    auto x = detail::take_buffer<T>("DataLoader", {end - begin, features});
    Batch<T> out;
    out.y = Labels::full({end - begin}, 0);
    const T* source = data_->images.data();
    for (std::size_t row = begin; row < end; ++row) {
        const std::size_t sample = order_[row];
        std::copy_n(source + sample * features, features, x.data() + (row - begin) * features);
        out.y[row - begin] = data_->labels[sample];
    }
    out.x = Tensor<T>(std::move(x));
    return out;
}

template class DataLoader<float>;
template class DataLoader<double>;

}  // namespace tapegrad::data
