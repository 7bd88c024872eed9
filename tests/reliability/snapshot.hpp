// "Nothing the user passed was changed": a bitwise snapshot of a tensor's observable state
// (value, version, gradient, requires_grad, grad_fn), compared after a refused call.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;

namespace reliability {

template <class T>
struct Snapshot {
    bool defined = false;
    tg::Shape shape;
    std::vector<T> value;
    std::uint64_t version = 0;
    bool requires_grad = false;
    std::string grad_fn;
    bool has_grad = false;
    std::vector<T> grad;
};

template <class T>
std::vector<T> flat(const tg::Tensor<T>& t) {
    return std::vector<T>(t.value().data(), t.value().data() + t.numel());
}

template <class T>
Snapshot<T> snapshot(const tg::Tensor<T>& t) {
    Snapshot<T> s;
    s.defined = t.defined();
    if (!s.defined) return s;
    s.shape = t.shape();
    s.value = flat(t);
    s.version = t.version();
    s.requires_grad = t.requires_grad();
    s.grad_fn = t.grad_fn_name();
    s.has_grad = t.grad().defined();
    if (s.has_grad) s.grad = flat(t.grad());
    return s;
}

/// Bitwise, so that NaN payloads compare equal to themselves.
template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

/// "" when t still matches s, else what changed.
template <class T>
std::string changes(const Snapshot<T>& s, const tg::Tensor<T>& t) {
    const Snapshot<T> now = snapshot(t);
    if (now.defined != s.defined) return "definedness changed";
    if (!s.defined) return "";
    if (now.shape != s.shape) return "shape changed";
    if (!same_bits(now.value, s.value)) return "value changed";
    if (now.version != s.version) return "version changed";
    if (now.requires_grad != s.requires_grad) return "requires_grad changed";
    if (now.grad_fn != s.grad_fn) return "grad_fn changed";
    if (now.has_grad != s.has_grad || !same_bits(now.grad, s.grad)) return "gradient changed";
    return "";
}

template <class T>
std::vector<Snapshot<T>> snapshot_all(const std::vector<tg::Tensor<T>>& ts) {
    std::vector<Snapshot<T>> out;
    for (const auto& t : ts) out.push_back(snapshot(t));
    return out;
}

/// "" when every tensor still matches, else the first change and its index.
template <class T>
std::string changes_all(const std::vector<Snapshot<T>>& s, const std::vector<tg::Tensor<T>>& ts) {
    if (s.size() != ts.size()) return "count changed";
    for (std::size_t i = 0; i < ts.size(); ++i) {
        if (auto c = changes(s[i], ts[i]); !c.empty()) return "tensor " + std::to_string(i) + ": " + c;
    }
    return "";
}

}  // namespace reliability
