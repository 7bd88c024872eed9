#include <tapegrad/nn/flatten.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <tapegrad/ops/layout.hpp>

namespace tapegrad::nn {

template <class T>
Tensor<T> Flatten<T>::forward(const Tensor<T>& x) {
    return flatten(x, start_, end_);
}

template <class T>
std::string Flatten<T>::extra_repr() const {
    return fmt::format("start_dim={}, end_dim={}", start_, end_);
}

template <class T>
std::shared_ptr<Module<double>> Flatten<T>::to_float64() const {
    return this->copy_state_to(std::make_shared<Flatten<double>>(start_, end_));
}

template <class T>
Tensor<T> Unflatten<T>::forward(const Tensor<T>& x) {
    return unflatten(x, dim_, sizes_);
}

template <class T>
std::string Unflatten<T>::extra_repr() const {
    // A Python tuple: "(784,)" for one size.
    const std::string sizes = fmt::format("{}", fmt::join(sizes_, ", "));
    return fmt::format("dim={}, unflattened_size=({}{})", dim_, sizes, sizes_.size() == 1 ? "," : "");
}

template <class T>
std::shared_ptr<Module<double>> Unflatten<T>::to_float64() const {
    return this->copy_state_to(std::make_shared<Unflatten<double>>(dim_, sizes_));
}

template class Flatten<float>;
template class Flatten<double>;
template class Unflatten<float>;
template class Unflatten<double>;

}  // namespace tapegrad::nn
