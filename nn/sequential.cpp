#include <tapegrad/nn/sequential.hpp>

#include <algorithm>
#include <iterator>
#include <string>
#include <utility>

#include <tapegrad/autograd/checkpoint_segment.hpp>
#include <tapegrad/autograd/grad_mode.hpp>
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

namespace {

template <class T>
using Modules = std::vector<typename Sequential<T>::ModulePtr>;

// Each module in turn, called through operator() so that its hooks run.
template <class T>
Tensor<T> apply_in_turn(const Modules<T>& modules, Tensor<T> h) {
    for (const auto& m : modules) h = (*m)(h);
    return h;
}

}  // namespace

template <class T>
Tensor<T> Sequential<T>::forward(const Tensor<T>& x) {
    if (checkpoint_segments_ > 0 && this->is_training() && is_grad_enabled())
        return checkpoint_sequential(*this, checkpoint_segments_, x);
    Tensor<T> h = x;  // over named_children() itself: a training step allocates nothing here
    for (const auto& [key, child] : this->named_children()) h = (*child)(h);  // operator(): hooks run
    return h;
}

template <class T>
Tensor<T> Sequential<T>::forward(const Indices& idx) {
    const auto& children = this->named_children();
    if (children.empty()) fail<ValueError>("Sequential: empty, so there is no module to take the Indices");
    Tensor<T> h = (*children.front().second)(idx);
    for (auto it = std::next(children.begin()); it != children.end(); ++it) h = (*it->second)(h);
    return h;
}

template <class T>
void Sequential<T>::set_checkpoint_segments(std::size_t segments) {
    if (segments > size())
        fail<ValueError>("Sequential::set_checkpoint_segments: {} segments for {} modules", segments, size());
    checkpoint_segments_ = segments;
}

template <class T>
Tensor<T> checkpoint_sequential(const Sequential<T>& seq, std::size_t segments, const Tensor<T>& x) {
    const Modules<T> all = seq.children();
    const std::size_t n = all.size();
    if (n == 0) return x;
    if (segments == 0 || segments > n)
        fail<ValueError>("checkpoint_sequential: {} segments for {} modules; it needs 1 <= segments <= {}", segments, n,
                         n);
    if (!is_grad_enabled()) return apply_in_turn<T>(all, x);
    Tensor<T> h = x;
    auto first = all.begin();
    for (std::size_t s = 0; s < segments; ++s) {
        // The run holds its modules (shared), not seq: the backward may outlive this call.
        const auto length = static_cast<std::ptrdiff_t>(n / segments + (s < n % segments ? 1 : 0));
        Modules<T> run(first, first + length);
        first += length;
        h = checkpoint<T>([run](const Tensor<T>& in) { return apply_in_turn<T>(run, in); }, h);
    }
    return h;
}

template <class T>
std::shared_ptr<Module<double>> Sequential<T>::to_float64() const {
    auto copy = std::make_shared<Sequential<double>>();
    // A module held twice stays one module in the copy (its weights stay tied).
    std::vector<std::pair<const Module<T>*, std::shared_ptr<Module<double>>>> copied;
    for (const auto& [key, child] : this->named_children()) {
        const Module<T>* original = child.get();  // clang 14 cannot capture a structured binding
        auto found = std::find_if(copied.begin(), copied.end(), [&](const auto& c) { return c.first == original; });
        copy->push_back(found != copied.end() ? found->second
                                              : copied.emplace_back(child.get(), child->to_float64()).second);
    }
    copy->train(this->is_training());
    copy->set_checkpoint_segments(checkpoint_segments_);
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
template Tensor<float> checkpoint_sequential(const Sequential<float>&, std::size_t, const Tensor<float>&);
template Tensor<double> checkpoint_sequential(const Sequential<double>&, std::size_t, const Tensor<double>&);
template Sequential<float> mlp<float>(const std::vector<std::size_t>&, Activation, Generator&, bool);
template Sequential<double> mlp<double>(const std::vector<std::size_t>&, Activation, Generator&, bool);

}  // namespace tapegrad::nn
