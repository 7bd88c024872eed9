/// \file
/// Per-sample gradients (torch.func's vmap(grad(...)), Opacus's grad_sample) and their norms (ghost
/// clipping), the building blocks of DP-SGD: the gradient of each sample's loss with respect to every
/// parameter, from one forward and one backward where the layers allow.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <tapegrad/autograd/errors.hpp>
#include <tapegrad/autograd/plain_tensor.hpp>
#include <tapegrad/autograd/shape.hpp>
#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/ops/shape.hpp>

namespace tapegrad::nn {

/// Per-parameter results, in the model's named_parameters() order: (name, tensor).
template <class T>
using NamedGrads = std::vector<std::pair<std::string, Tensor<T>>>;

/// The per-sample losses of samples begin..end-1 of the batch (shape [end - begin]): what the
/// public functions build from the model, loss_fn, x and target. Exposed for models whose call is
/// not `model(x)`.
template <class T>
using SampleLosses = std::function<Tensor<T>(std::int64_t begin, std::int64_t end)>;

/// per_sample_grads() over a SampleLosses: `model` provides the parameters and the layers whose
/// hooks the fast path uses; `losses(0, batch)` must run the model's forward on the whole batch
/// and `losses(i, i + 1)` on sample i alone. Throws as per_sample_grads().
template <class T>
NamedGrads<T> per_sample_grads_of(Module<T>& model, std::int64_t batch, const SampleLosses<T>& losses);

/// per_sample_grad_norms() over a SampleLosses (see per_sample_grads_of()).
template <class T>
Tensor<T> per_sample_grad_norms_of(Module<T>& model, std::int64_t batch, const SampleLosses<T>& losses);

namespace detail {

/// Samples begin..end-1 (rows along dim 0) of a batch of inputs or targets.
template <class T>
Tensor<T> sample_rows(const Tensor<T>& x, std::int64_t begin, std::int64_t end) {
    return tapegrad::slice(x, 0, begin, end);
}
/// The same for labels or token ids.
Indices sample_rows(const Indices& x, std::int64_t begin, std::int64_t end);

/// The batch size of x: its dim 0; ValueError naming `who` for a 0-d x.
template <class X>
std::int64_t batch_size_of(const char* who, const X& x) {
    if (x.ndim() == 0) fail<ValueError>("{}: x is 0-d; expected a batch, one sample per row (dim 0)", who);
    return static_cast<std::int64_t>(x.shape()[0]);
}

/// The element type T of a Module<T> (or of a class derived from one).
template <class T>
T module_scalar(const Module<T>*);
template <class M>
using ModuleScalar = decltype(module_scalar(static_cast<const M*>(nullptr)));

/// The per-sample losses of model on x and target; ValueError naming `who` when target has not
/// x's number of rows.
template <class M, class X, class Target, class LossFn>
auto losses_closure(const char* who, M& model, LossFn& loss_fn, const X& x, const Target& target) {
    using T = ModuleScalar<M>;
    if (target.ndim() == 0 || target.shape()[0] != x.shape()[0])
        fail<ValueError>("{}: target has shape {} but x has {} samples (rows): one target per sample", who,
                         shape_str(target.shape()), x.shape()[0]);
    return SampleLosses<T>([&model, &loss_fn, &x, &target](std::int64_t begin, std::int64_t end) -> Tensor<T> {
        if (begin == 0 && end == detail::batch_size_of("per_sample_grads", x))
            return loss_fn(model(x), target);  // the whole batch: no copy of x
        return loss_fn(model(sample_rows(x, begin, end)), sample_rows(target, begin, end));
    });
}

}  // namespace detail

/// The gradient of each sample's loss with respect to every parameter that requires grad: for x a
/// batch of B samples (dim 0), returns the model's named_parameters() order (frozen parameters left
/// out, as Opacus does) as (name, tensor of shape [B, *param.shape]), where entry i is d loss_i /
/// d param and loss = loss_fn(model(x), target) has shape [B] (a per-sample loss: e.g.
/// cross_entropy with Reduction::None; sum mse_loss's Reduction::None over the feature dims). The
/// layout of torch.func's vmap(grad(f)) and of Opacus's p.grad_sample. x and target are Tensors
/// or Indices (labels, token ids); `model(x)` must be callable (M derives from Module).
///
/// How, per layer. The fast path, one forward and one backward for the whole batch, when the model
/// is a Sequential (Sequentials nested at any depth; on token ids when it starts with an
/// Embedding) of built-in layers that keep dim 0 as the sample dim (activations, Dropout, Flatten
/// with start_dim >= 1, pooling, the normalisations, convolutions, Dense, Embedding), or one such
/// Dense or Embedding: forward hooks record the input a (an Embedding's ids) and output z of each
/// call of a Dense, LayerNorm, Conv1d, Conv2d or Embedding, one tapegrad::grad() gives delta =
/// d(sum_i loss_i)/dz, then per sample: Dense (input [B, ..., in]) g_W[i] = sum_t delta[i, t]^T
/// a[i, t], one batched GEMM over the sequence dims t (for [B, in], B outer products each written
/// once), g_b[i] = sum_t delta[i, t]; Embedding (ids [B, ...]) g_W[i] = the scatter-add of
/// delta[i, t] into the rows ids[i, t], none into the padding_idx row; LayerNorm g_w[i] = sum_t delta[i, t]
/// xhat[i, t], g_b[i] = sum_t delta[i, t]; Conv1d and Conv2d (any stride, padding, dilation,
/// groups) the weight gradient of one convolution whose groups are the samples, g_b[i] = delta[i]
/// summed over the positions. A layer called several times, or two layers sharing a weight, add
/// their contributions. The exact fallback, a loop over samples (each sample's forward and
/// tapegrad::grad() on x[i:i+1]), for every other parameter (RMSNorm, GroupNorm, BatchNorm in eval,
/// ConvTranspose2d, a weight tied to an unsupported module) and for the whole model when it holds
/// any other module (a custom module, LSTM, attention, Unflatten, Softmax) or calls its layers
/// otherwise. Both give the same values (to rounding).
///
/// Requires the model to treat samples independently (as vmap and Opacus do): no BatchNorm in
/// training mode (refused), no custom module that mixes rows. Dropout in training mode draws one
/// mask for the batch in the fast path and one per sample in the fallback: use eval() for
/// reproducible results. Nothing the user owns changes: no .grad() is written, the hooks are
/// removed (also when loss_fn or the model throws), the training mode is kept.
///
/// ValueError: B = 0, a target whose dim 0 is not B, a BatchNorm in training mode (naming it),
/// loss_fn returning a shape other than [B] (or [1] for one sample). Errors of the model and loss_fn propagate.
template <class M, class X, class Target, class LossFn>
NamedGrads<detail::ModuleScalar<M>> per_sample_grads(M& model, LossFn loss_fn, const X& x, const Target& target) {
    const std::int64_t batch = detail::batch_size_of("per_sample_grads", x);
    return per_sample_grads_of<detail::ModuleScalar<M>>(
        model, batch, detail::losses_closure("per_sample_grads", model, loss_fn, x, target));
}

/// The L2 norm over all parameters (those that require grad) of each sample's gradient: shape
/// [B], entry i = sqrt(sum over parameters of ||d loss_i / d param||^2), the quantity DP-SGD
/// clips. Without materialising per-sample gradients where the layer allows (ghost norms, Li et
/// al. 2022): for a Dense on [B, in], ||g_W[i]||^2 = ||a_i||^2 ||delta_i||^2 and ||g_b[i]||^2 =
/// ||delta_i||^2; on [B, T, in], ||sum_t delta_it a_it^T||^2 = sum_{t,s} (a_it . a_is)(delta_it .
/// delta_is) through the T x T Gram matrices when T^2 < in * out, else the materialised g_W; for an
/// Embedding, ||g_W[i]||^2 = sum over tokens t, t' of sample i with the same id (not padding_idx)
/// of delta_it . delta_it'. A Dense or Embedding called several times or sharing a weight, the
/// other fast layers (whose per-sample gradients are small) and every fallback parameter are
/// materialised.
/// Same preconditions, refusals and guarantees as per_sample_grads().
template <class M, class X, class Target, class LossFn>
Tensor<detail::ModuleScalar<M>> per_sample_grad_norms(M& model, LossFn loss_fn, const X& x, const Target& target) {
    const std::int64_t batch = detail::batch_size_of("per_sample_grad_norms", x);
    return per_sample_grad_norms_of<detail::ModuleScalar<M>>(
        model, batch, detail::losses_closure("per_sample_grad_norms", model, loss_fn, x, target));
}

}  // namespace tapegrad::nn
