#include <tapegrad/nn/state_dict.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <tapegrad/autograd/errors.hpp>
#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

template <class T>
StateDict<T>::StateDict(std::initializer_list<value_type> entries) {
    for (const auto& [key, value] : entries) insert(key, value);
}

template <class T>
void StateDict<T>::insert(std::string key, Tensor<T> value) {
    if (!value.defined()) fail<ValueError>("StateDict::insert: the tensor given for '{}' is undefined", key);
    if (contains(key)) fail<ValueError>("StateDict::insert: the key '{}' is already present", key);
    index_.emplace(key, entries_.size());
    entries_.emplace_back(std::move(key), std::move(value));
}

template <class T>
const Tensor<T>& StateDict<T>::at(const std::string& key) const {
    const auto it = index_.find(key);
    if (it == index_.end())
        fail<ValueError>("StateDict::at: no key '{}'; the keys are: {}", key, fmt::join(keys(), ", "));
    return entries_[it->second].second;
}

template <class T>
std::vector<std::string> StateDict<T>::keys() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& [key, value] : entries_) out.push_back(key);
    return out;
}

// PyTorch's _save_to_state_dict recursion: no memo, so a module held twice is listed under both paths.
template <class T>
void Module<T>::collect_state(const std::string& prefix, StateDict<T>& out) const {
    for (const auto& [key, param] : params_) out.insert(prefix + key, param);
    for (const auto& [key, buffer] : buffers_) out.insert(prefix + key, buffer);
    for (const auto& [key, child] : children_) child->collect_state(prefix + key + ".", out);
}

template <class T>
StateDict<T> Module<T>::state_dict() const {
    StateDict<T> out;
    collect_state("", out);
    return out;
}

template <class T>
IncompatibleKeys Module<T>::load_state_dict(const StateDict<T>& dict, bool strict) {
    const StateDict<T> own = state_dict();
    IncompatibleKeys result;
    std::vector<std::string> mismatched;
    for (const auto& [key, tensor] : own) {
        if (!dict.contains(key)) {
            result.missing_keys.push_back(key);
            continue;
        }
        const auto& given = dict.at(key);
        if (given.shape() != tensor.shape()) {
            mismatched.push_back(fmt::format("size mismatch for {}: {} in the dict, {} in the module", key,
                                             shape_str(given.shape()), shape_str(tensor.shape())));
        }
    }
    for (const auto& [key, tensor] : dict) {
        if (!own.contains(key)) result.unexpected_keys.push_back(key);
    }

    std::vector<std::string> problems;
    if (strict && !result.missing_keys.empty())
        problems.push_back(fmt::format("missing keys: {}", fmt::join(result.missing_keys, ", ")));
    if (strict && !result.unexpected_keys.empty())
        problems.push_back(fmt::format("unexpected keys: {}", fmt::join(result.unexpected_keys, ", ")));
    problems.insert(problems.end(), mismatched.begin(), mismatched.end());
    if (!problems.empty())
        fail<ValueError>("load_state_dict: error(s) loading into {}, nothing loaded: {}", name(),
                         fmt::join(problems, "; "));

    NoGradGuard no_grad;
    for (const auto& [key, tensor] : own) {
        if (!dict.contains(key)) continue;
        const auto& given = dict.at(key);
        if (given.same(tensor)) continue;
        Tensor<T> target = tensor;
        target.mutable_value() = given.value();
    }
    return result;
}

template class StateDict<float>;
template class StateDict<double>;
template StateDict<float> Module<float>::state_dict() const;
template StateDict<double> Module<double>::state_dict() const;
template IncompatibleKeys Module<float>::load_state_dict(const StateDict<float>&, bool);
template IncompatibleKeys Module<double>::load_state_dict(const StateDict<double>&, bool);

}  // namespace tapegrad::nn
