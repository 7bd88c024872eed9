#include <tapegrad/nn/functional_call.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <tapegrad/autograd/errors.hpp>
#include <tapegrad/autograd/shape.hpp>

namespace tapegrad::detail {

namespace {

// One registered parameter or buffer, by its state_dict key.
template <class T>
struct Entry {
    std::string key;
    nn::Module<T>* module;
    bool buffer;
    std::size_t index;
    Tensor<T> own;
};

}  // namespace

template <class T>
Reparametrization<T>::Reparametrization(nn::Module<T>& module, const nn::TensorDict<T>& tensors,
                                        const nn::FunctionalCallOptions& options) {
    // Every key the module answers to; a tensor held under several keys (tied) appears under each.
    std::vector<Entry<T>> entries;
    for (auto& [path, m] : module.named_modules()) {
        const std::string prefix = path.empty() ? "" : path + ".";
        for (std::size_t i = 0; i < m->params_.size(); ++i)
            entries.push_back({prefix + m->params_[i].first, m, false, i, m->params_[i].second});
        for (std::size_t i = 0; i < m->buffers_.size(); ++i)
            entries.push_back({prefix + m->buffers_[i].first, m, true, i, m->buffers_[i].second});
    }
    const auto find = [&](const std::string& key) -> const Entry<T>* {
        for (const auto& e : entries) {
            if (e.key == key) return &e;
        }
        return nullptr;
    };
    const auto valid_keys = [&] {
        std::vector<std::string> keys;
        for (const auto& e : entries) keys.push_back(e.key);
        return fmt::format("{}", fmt::join(keys, ", "));
    };

    // What each holder receives, checked completely before anything changes.
    struct Planned {
        const Entry<T>* holder;
        Tensor<T> value;
        std::string given_as;  // the key the value was given under
    };
    std::vector<Planned> plan;
    std::vector<std::string> unknown;
    for (const auto& [key, value] : tensors) {
        const Entry<T>* entry = find(key);
        if (entry == nullptr) {
            unknown.push_back(key);
            continue;
        }
        if (!value.defined()) fail<ValueError>("functional_call: the tensor given for '{}' is undefined", key);
        if (value.shape() != entry->own.shape()) {
            fail<ShapeError>("functional_call: '{}' is {} in {}, the tensor given for it {}", key,
                             shape_str(entry->own.shape()), module.name(), shape_str(value.shape()));
        }
        for (const auto& e : entries) {
            const bool holder = &e == entry || (options.tie_weights && e.own.same(entry->own));
            if (!holder) continue;
            for (const auto& p : plan) {
                if (p.holder == &e && !p.value.same(value)) {
                    fail<ValueError>(
                        "functional_call: '{}' and '{}' are one tied tensor in {}, and different tensors are given "
                        "for them (give one of the keys, or the same tensor for both, or set tie_weights = false)",
                        p.given_as, key, module.name());
                }
            }
            plan.push_back({&e, value, key});
        }
    }
    if (!unknown.empty()) {
        fail<ValueError>("functional_call: {} has no parameter or buffer named {}; its keys are: {}", module.name(),
                         fmt::join(unknown, ", "), valid_keys());
    }
    if (options.strict) {
        std::vector<std::string> missing;
        for (const auto& e : entries) {
            bool given = false;
            for (const auto& p : plan) given = given || p.holder == &e;
            if (!given) missing.push_back(e.key);
        }
        if (!missing.empty())
            fail<ValueError>("functional_call (strict): no tensor given for {}", fmt::join(missing, ", "));
    }
    for (const auto& p : plan) {
        const Entry<T>* at = p.holder;
        const auto& slots = at->buffer ? at->module->buffer_slots_ : at->module->param_slots_;
        if (!slots[at->index]) {
            fail<ValueError>(
                "functional_call: {} registered '{}' without the member that holds it, so it cannot be "
                "substituted; register it as register_{}(name, &Class::member, value)",
                at->module->name(), at->key, at->buffer ? "buffer" : "parameter");
        }
    }

    // A holder given twice (a key and its tied twin) receives the same tensor twice: swap it once.
    for (const auto& p : plan) {
        const Entry<T>* at = p.holder;
        bool done = false;
        for (const auto& s : swapped_)
            done = done || (s.module == at->module && s.buffer == at->buffer && s.index == at->index);
        if (done) continue;
        swapped_.push_back({at->module, at->buffer, at->index, at->own});
        put(swapped_.back(), p.value);
    }
}

template <class T>
Reparametrization<T>::~Reparametrization() {
    for (auto it = swapped_.rbegin(); it != swapped_.rend(); ++it) put(*it, it->own);
}

template <class T>
void Reparametrization<T>::put(const Swapped& at, const Tensor<T>& value) {
    auto& list = at.buffer ? at.module->buffers_ : at.module->params_;
    const auto& slots = at.buffer ? at.module->buffer_slots_ : at.module->param_slots_;
    list[at.index].second = value;
    slots[at.index](*at.module) = value;
}

template class Reparametrization<float>;
template class Reparametrization<double>;

}  // namespace tapegrad::detail
