/// \file
/// Internal to the function transforms (func.cpp, func_jacobian.cpp): one evaluation of f on
/// working copies of the primals, and the gradients taken through it.
#pragma once

#include <memory>
#include <vector>

#include <tapegrad/autograd/func.hpp>

namespace tapegrad::func::detail {

/// f evaluated once, ready to be differentiated with respect to `inputs()`.
///
/// Each differentiated primal is replaced by a working copy: a recorded identity of the primal
/// when grad mode is on and the primal requires grad (an outer transform or the user is
/// differentiating through it), else a detached leaf. f runs with grad mode on. The results stay
/// connected to the caller's graph (connected()) when grad mode was on and f's outputs reach a
/// tensor that requires grad from outside (a primal, or a tensor f reads); only then are the
/// gradients recorded (create_graph), else they are plain values: the fast path.
///
/// While this trace takes gradients, its identities stop them (as PyTorch's engine prunes what
/// the inputs do not need): an inner gradient never walks the caller's graph, which may be long
/// or already freed, and the caller's later passes still go through the identities.
template <class T>
class Trace {
public:
    /// Runs f on the primals, those at the positions `differentiate` lists replaced by working
    /// copies. ValueError naming `who` for an undefined primal or output.
    Trace(const char* who, const Function<T>& f, const Tensors<T>& primals,
          const std::vector<std::size_t>& differentiate);

    /// The working copies of the differentiated primals, in the order `differentiate` lists them.
    const Tensors<T>& inputs() const noexcept { return inputs_; }
    /// f's outputs.
    const Tensors<T>& outputs() const noexcept { return outputs_; }
    /// Whether results stay on the caller's graph.
    bool connected() const noexcept { return connected_; }
    /// Whether gradients seeded with `seeds` are recorded: when connected, or when a seed requires
    /// grad under grad mode (a vjp is differentiable in its cotangents too).
    bool records(const Tensors<T>& seeds) const;
    /// d(sum_k <seeds_k, roots_k>)/d wrt, one per wrt (zeros for what the roots do not use);
    /// roots that do not require grad contribute nothing. Recorded when `record`.
    Tensors<T> grads(const Tensors<T>& roots, const Tensors<T>& wrt, const Tensors<T>& seeds, bool record) const;
    /// An output as the caller gets it: itself when connected, else a detached copy (which lets
    /// go of the trace's graph).
    Tensor<T> result(const Tensor<T>& t) const { return connected_ ? t : t.detach(); }

private:
    bool outer_grad_;                                            // grad mode when the transform was called
    std::shared_ptr<bool> cut_ = std::make_shared<bool>(false);  // true while this trace takes gradients
    Tensors<T> inputs_;
    Tensors<T> outputs_;
    bool connected_ = false;
};

/// jacobian(), where `dual` lets Strategy::forward run f in forward mode (one run per input
/// element on dual tensors; the double-vjp construction when that is not possible, see jvp).
template <class T>
Tensors<T> jacobian_with(const char* who, const Function<T>& f, const Tensors<T>& primals, const Argnums& argnums,
                         Strategy strategy, bool dual);

/// One-hot tensor of `like`'s shape: 1 at flat index `at`.
template <class T>
Tensor<T> one_hot_like(const Tensor<T>& like, std::size_t at);

/// The positions argnums names, in its order, negative ones counted from the end (ValueError
/// naming `who` for empty, repeated or out-of-range ones).
std::vector<std::size_t> chosen(const char* who, const Argnums& argnums, std::size_t n_primals);

/// Every position: 0, 1, ..., n - 1.
std::vector<std::size_t> every(std::size_t n);

}  // namespace tapegrad::func::detail
