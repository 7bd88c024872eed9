/// \file
/// StateDict: a module's parameters and buffers under PyTorch's state_dict keys, in PyTorch's
/// order (Module::state_dict() and Module::load_state_dict()).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad::nn {

/// An ordered map from state_dict keys ("0.weight", "bn.running_mean") to tensors, iterated in
/// insertion order (PyTorch's OrderedDict). Module::state_dict() fills it in PyTorch's order;
/// a user builds one to load weights from elsewhere. Each key once.
template <class T>
class StateDict {
public:
    /// A key and its tensor.
    using value_type = std::pair<std::string, Tensor<T>>;
    /// Iterates the entries in insertion order.
    using const_iterator = typename std::vector<value_type>::const_iterator;

    /// An empty dict.
    StateDict() = default;
    /// The entries, in this order: `StateDict<float>{{"weight", w}, {"bias", b}}`. ValueError as
    /// insert().
    StateDict(std::initializer_list<value_type> entries);

    /// Appends `key` -> `value`. ValueError naming the key for a key already present or an
    /// undefined tensor (nothing is changed).
    void insert(std::string key, Tensor<T> value);
    /// Whether `key` is present.
    bool contains(const std::string& key) const { return index_.count(key) != 0; }
    /// The tensor under `key`; ValueError naming the key (and the keys present) when absent
    /// (PyTorch's KeyError).
    const Tensor<T>& at(const std::string& key) const;
    /// The keys, in order.
    std::vector<std::string> keys() const;
    /// The entries, in order (what data::write_safetensors() takes).
    const std::vector<value_type>& entries() const noexcept { return entries_; }
    /// Number of entries.
    std::size_t size() const noexcept { return entries_.size(); }
    /// True when there is no entry.
    bool empty() const noexcept { return entries_.empty(); }
    /// First entry.
    const_iterator begin() const noexcept { return entries_.begin(); }
    /// Past the last entry.
    const_iterator end() const noexcept { return entries_.end(); }

private:
    std::vector<value_type> entries_;
    std::unordered_map<std::string, std::size_t> index_;  // key -> its place in entries_
};

/// What load_state_dict(dict, strict = false) did not match (PyTorch's _IncompatibleKeys): the
/// module's keys the dict lacks and the dict's keys the module lacks, each in its own order. Both
/// are empty after a strict load (which throws instead).
struct IncompatibleKeys {
    /// Keys of the module's state_dict() that the dict does not have: those tensors kept their values.
    std::vector<std::string> missing_keys;
    /// Keys of the dict that name no parameter or buffer of the module: ignored.
    std::vector<std::string> unexpected_keys;
};

}  // namespace tapegrad::nn
