#include <tapegrad/autograd/node.hpp>

#include <tapegrad/autograd/anomaly_hooks.hpp>
#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/autograd/tape.hpp>

namespace tapegrad::detail {

// Tape::saved_bytes(): an op output counts from the first live node that saves it to the last.
template <class T>
void note_saved(const Tensor<T>& input, bool saved) noexcept {
    auto* impl = TensorAccess::impl(input);
    if (!impl) return;
    // A tensor already counted stays counted while checkpoint hides its history (grad_fn) for a moment.
    if (saved && (impl->grad_fn || impl->saved_by > 0) && impl->saved_by++ == 0) {
        impl->saved_bytes = impl->value.size() * sizeof(T);
        impl->saved_counter = TapeAccess::count_saved(impl->saved_bytes);
    } else if (!saved && impl->saved_by > 0 && --impl->saved_by == 0) {
        TapeAccess::release_saved(*impl->saved_counter, impl->saved_bytes);
        impl->saved_counter.reset();
    }
}

template <class T>
Node<T>::Node(const char* name, Grads<T> inputs)
    : NodeBase(name, std::is_same_v<T, double>), inputs_(std::move(inputs)) {
    input_versions_.reserve(inputs_.size());
    for (const auto& in : inputs_) input_versions_.push_back(in.version());
    for (const auto& in : inputs_) note_saved(in, true);
}

// Destroying the last handle of a long chain would recurse once per node (node -> input ->
// its node -> ...) and overflow the stack at ~100k ops; instead, nodes that only this one
// owns are unlinked onto a local stack and destroyed in a loop.
template <class T>
Node<T>::~Node() {
    std::vector<std::shared_ptr<Node<T>>, PoolAllocator<std::shared_ptr<Node<T>>>> orphans;
    auto adopt = [&orphans](Grads<T>& inputs) {
        for (auto& in : inputs) {
            note_saved(in, false);
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
    for (const auto& in : inputs_) note_saved(in, false);
    Grads<T>().swap(inputs_);
    drop_rule();
    grad_ = Tensor<T>();
    NodeAccess::mark_released(*this);
}

template <class T>
void check_forward(const char* name, const Grads<T>& inputs, const xt::xarray<T>& value) {
    anomaly_check_forward<T>(name, inputs, value);
}

template <class T>
bool needs_node(const char* name, const Grads<T>& inputs) {
    if (!is_grad_enabled()) return false;
    bool any = false;
    for (const auto& in : inputs) {
        if (!in.defined()) fail<ValueError>("{}: an input tensor is undefined", name);
        any = any || in.requires_grad();
    }
    return any;
}

template <class T>
void attach(Tensor<T>& out, std::shared_ptr<Node<T>> node) {
    auto& tape = Tape::current();
    NodeAccess::set_sequence(*node, TapeAccess::next_sequence(tape));
    node->output_ = TensorAccess::impl_ptr(out);
    auto* impl = TensorAccess::impl(out);
    impl->requires_grad = true;
    TapeAccess::push(tape, node->sequence(), node);
    if (is_anomaly_enabled()) anomaly_note_recorded(node->sequence());
    impl->grad_fn = std::move(node);
}

#define TAPEGRAD_INSTANTIATE(T)                                                      \
    template class Node<T>;                                                          \
    template void check_forward(const char*, const Grads<T>&, const xt::xarray<T>&); \
    template bool needs_node(const char*, const Grads<T>&);                          \
    template void attach(Tensor<T>&, std::shared_ptr<Node<T>>);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::detail
