#include <tapegrad/autograd/node.hpp>

#include <tapegrad/autograd/anomaly.hpp>
#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/autograd/tape.hpp>

namespace tapegrad {

using detail::TensorAccess;

template <class T>
Node<T>::Node(const char* name, std::uint64_t sequence, std::vector<Tensor<T>> inputs, BackwardFn<T> fn)
    : NodeBase(name, sequence, std::is_same_v<T, double>), inputs_(std::move(inputs)), backward_(std::move(fn)) {
    input_versions_.reserve(inputs_.size());
    for (const auto& in : inputs_) input_versions_.push_back(in.version());
}

// Destroying the last handle of a long chain would recurse once per node (node -> input ->
// its node -> ...) and overflow the stack at ~100k ops; instead, nodes that only this one
// owns are unlinked onto a local stack and destroyed in a loop.
template <class T>
Node<T>::~Node() {
    std::vector<std::shared_ptr<Node<T>>> orphans;
    auto adopt = [&orphans](std::vector<Tensor<T>>& inputs) {
        for (auto& in : inputs) {
            auto* impl = TensorAccess::impl(in);
            if (impl && TensorAccess::impl_ptr(in).use_count() == 1 && impl->grad_fn &&
                impl->grad_fn.use_count() == 1) {
                orphans.push_back(std::move(impl->grad_fn));
            }
        }
        inputs.clear();
    };
    adopt(inputs_);
    while (!orphans.empty()) {
        auto node = std::move(orphans.back());
        orphans.pop_back();
        adopt(node->inputs_);
    }
}

template <class T>
void Node<T>::release() {
    inputs_.clear();
    inputs_.shrink_to_fit();
    backward_ = nullptr;
    grad_ = Tensor<T>();
    released_ = true;
}

template <class T>
Tensor<T> record(const char* name, std::vector<Tensor<T>> inputs, xt::xarray<T> value, BackwardFn<T> fn) {
    if (is_anomaly_enabled()) anomaly_check_forward<T>(name, inputs, value);
    Tensor<T> out(std::move(value));
    if (!is_grad_enabled()) return out;
    bool any = false;
    for (const auto& in : inputs) {
        if (!in.defined()) fail<ValueError>("{}: an input tensor is undefined", name);
        any = any || in.requires_grad();
    }
    if (!any) return out;
    auto& tape = Tape::current();
    auto node =
        std::make_shared<Node<T>>(name, detail::TapeAccess::next_sequence(tape), std::move(inputs), std::move(fn));
    node->output_ = TensorAccess::impl_ptr(out);
    TensorAccess::impl(out)->grad_fn = node;
    TensorAccess::impl(out)->requires_grad = true;
    detail::TapeAccess::push(tape, node->sequence(), node);
    if (is_anomaly_enabled()) anomaly_note_recorded(node->sequence());
    return out;
}

template class Node<float>;
template class Node<double>;
template Tensor<float> record(const char*, std::vector<Tensor<float>>, xt::xarray<float>, BackwardFn<float>);
template Tensor<double> record(const char*, std::vector<Tensor<double>>, xt::xarray<double>, BackwardFn<double>);

}  // namespace tapegrad
