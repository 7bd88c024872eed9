#include <tapegrad/nn/sequential.hpp>

#include <algorithm>
#include <string>
#include <utility>

#include <tapegrad/nn/dense.hpp>

namespace tapegrad::nn {

template <class T>
Sequential<T>::Sequential(std::initializer_list<ModulePtr> modules) {
    for (const auto& m : modules) push_back(m);
}

template <class T>
typename Sequential<T>::ModulePtr Sequential<T>::push_back(ModulePtr module) {
    return this->register_module(std::to_string(size()), std::move(module));
}

template <class T>
Tensor<T> Sequential<T>::forward(const Tensor<T>& x) {
    Tensor<T> h = x;
    for (const auto& [key, child] : this->named_children())
        h = (*child)(h);  // through operator(), so the child's hooks run
    return h;
}

template <class T>
std::shared_ptr<Module<double>> Sequential<T>::to_float64() const {
    auto copy = std::make_shared<Sequential<double>>();
    // A module held twice stays one module in the copy (its weights stay tied).
    std::vector<std::pair<const Module<T>*, std::shared_ptr<Module<double>>>> copied;
    for (const auto& [key, child] : this->named_children()) {
        auto found = std::find_if(copied.begin(), copied.end(), [&](const auto& c) { return c.first == child.get(); });
        copy->push_back(found != copied.end() ? found->second
                                              : copied.emplace_back(child.get(), child->to_float64()).second);
    }
    copy->train(this->is_training());
    return copy;
}

template <class T>
typename Sequential<T>::ModulePtr Sequential<T>::operator[](std::size_t i) const {
    if (i >= size()) fail<ValueError>("Sequential: index {} is out of range for {} modules", i, size());
    return this->named_children()[i].second;
}

template <class T>
Sequential<T> mlp(const std::vector<std::size_t>& sizes, Activation activation, Generator& gen, bool bias) {
    if (sizes.size() < 2)
        fail<ValueError>("mlp: sizes has {} entries; it needs at least 2 (inputs, outputs)", sizes.size());
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        if (sizes[i] == 0) fail<ValueError>("mlp: sizes[{}] is 0; every layer size must be positive", i);
    }
    Sequential<T> net;
    for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
        net.push_back(std::make_shared<Dense<T>>(sizes[i], sizes[i + 1], gen, bias));
        if (i + 2 < sizes.size()) net.push_back(make_activation<T>(activation));
    }
    return net;
}

template class Sequential<float>;
template class Sequential<double>;
template Sequential<float> mlp<float>(const std::vector<std::size_t>&, Activation, Generator&, bool);
template Sequential<double> mlp<double>(const std::vector<std::size_t>&, Activation, Generator&, bool);

}  // namespace tapegrad::nn
