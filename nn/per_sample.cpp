#include <tapegrad/nn/per_sample.hpp>

#include <algorithm>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>

#include <tapegrad/autograd/engine.hpp>
#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/autograd/shape.hpp>
#include <tapegrad/nn/conv.hpp>
#include <tapegrad/nn/dense.hpp>
#include <tapegrad/nn/embedding.hpp>
#include <tapegrad/nn/normalization.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/convolution.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/matmul.hpp>
#include <tapegrad/ops/normalization.hpp>
#include <tapegrad/ops/reduce.hpp>

namespace tapegrad::nn {

namespace detail {

Indices sample_rows(const Indices& x, std::int64_t begin, std::int64_t end) {
    if (x.ndim() == 0)
        fail<ValueError>("per_sample_grads: a 0-d target has no samples to take rows {}..{} of", begin, end);
    Shape shape = x.shape();
    const std::size_t row = x.numel() / std::max<std::size_t>(shape[0], 1);
    shape[0] = static_cast<std::size_t>(end - begin);
    Indices::array_type out = Indices::array_type::from_shape(shape);
    std::copy_n(x.value().data() + static_cast<std::size_t>(begin) * row, out.size(), out.data());
    return Indices(std::move(out));
}

}  // namespace detail

namespace {

// Built-in modules through which the fast path may follow a batch: each keeps dim 0 as the sample
// dim and treats samples independently (BatchNorm only in eval mode, refused in training before).
// Sequential calls its children as `child(x)`, so their forward hooks see every call. Anything
// else (a custom module, a recurrent or attention layer, whose inputs may be time-first, Softmax
// over a dim that may be 0, Unflatten) sends the whole model to the exact fallback.
bool keeps_samples(const std::string& name, const std::string& repr) {
    static const std::set<std::string, std::less<>> known = {"Sequential",
                                                             "Dense",
                                                             "ReLU",
                                                             "LeakyReLU",
                                                             "Sigmoid",
                                                             "Tanh",
                                                             "GELU",
                                                             "Dropout",
                                                             "Dropout2d",
                                                             "LayerNorm",
                                                             "RMSNorm",
                                                             "GroupNorm",
                                                             "BatchNorm1d",
                                                             "BatchNorm2d",
                                                             "Conv1d",
                                                             "Conv2d",
                                                             "ConvTranspose2d",
                                                             "MaxPool1d",
                                                             "MaxPool2d",
                                                             "AvgPool1d",
                                                             "AvgPool2d",
                                                             "AdaptiveAvgPool2d",
                                                             "Embedding"};
    if (known.count(name) != 0) return true;
    // Flatten(start_dim >= 1) keeps the batch dim; "start_dim=1, end_dim=-1" is its repr.
    if (name == "Flatten") {
        constexpr std::string_view key = "start_dim=";
        if (repr.rfind(key, 0) != 0) return false;
        return std::stoll(repr.substr(key.size())) >= 1;
    }
    return false;
}

constexpr std::size_t npos = static_cast<std::size_t>(-1);

// One recorded call of a fast layer: its input a [B, ..., in] (an Embedding's: ids [B, ...]) and
// output z [B, ..., out].
template <class T>
struct Call {
    std::size_t layer;  // index into Plan::layers
    Tensor<T> a;
    Tensor<T> z;
    Indices ids;
    // The shape of the input: a's, or the ids' for an Embedding.
    const Shape& input_shape() const { return a.defined() ? a.shape() : ids.shape(); }
};

// A Dense, LayerNorm, Conv1d, Conv2d or Embedding on the fast path (one of the pointers set) and the slots
// (indices into Plan::params) of its parameters, npos for one that is frozen or takes the fallback.
template <class T>
struct FastLayer {
    Module<T>* module;
    Dense<T>* dense = nullptr;
    LayerNorm<T>* norm = nullptr;
    Conv1d<T>* conv1 = nullptr;
    Conv2d<T>* conv2 = nullptr;
    Embedding<T>* emb = nullptr;
    std::size_t weight_slot = npos;
    std::size_t bias_slot = npos;

    explicit FastLayer(Module<T>* m)
        : module(m),
          dense(dynamic_cast<Dense<T>*>(m)),
          norm(dynamic_cast<LayerNorm<T>*>(m)),
          conv1(dynamic_cast<Conv1d<T>*>(m)),
          conv2(dynamic_cast<Conv2d<T>*>(m)),
          emb(dynamic_cast<Embedding<T>*>(m)) {}
    bool supported() const {
        return dense != nullptr || norm != nullptr || conv1 != nullptr || conv2 != nullptr || emb != nullptr;
    }
    // Whether an input of this rank has one sample per row: a batch dim before the features
    // (Dense), before the normalised dims (LayerNorm; else it would normalise across samples), or
    // [N, C, L] and [N, C, H, W] (the convolutions, which also take one unbatched sample), ids
    // [B, ...] (an Embedding; 0-d ids are one unbatched token).
    bool batched(std::size_t rank) const {
        if (dense != nullptr) return rank >= 2;
        if (emb != nullptr) return rank >= 1;
        if (norm != nullptr) return rank >= norm->normalized_shape().size() + 1;
        return rank == (conv1 != nullptr ? 3U : 4U);
    }
};

template <class T>
struct Plan {
    NamedGrads<T> params;    // the parameters that require grad, named_parameters() order
    std::vector<bool> fast;  // per slot: every use of it is a recorded call of a fast layer
    std::vector<FastLayer<T>> layers;
    std::vector<Call<T>> calls;  // filled by the forward hooks
};

// Refuses what has no per-sample gradient and sorts the parameters into fast and fallback.
template <class T>
Plan<T> make_plan(const char* who, Module<T>& model, std::int64_t batch) {
    if (batch <= 0)
        fail<ValueError>("{}: the batch is empty (B = {}); there is no sample to differentiate", who, batch);
    Plan<T> plan;
    const auto modules = model.named_modules();
    bool tree_of_known = model.name() == "Sequential" || model.name() == "Dense" || model.name() == "Embedding";
    for (const auto& [path, m] : modules) {
        if (auto* bn = dynamic_cast<BatchNorm<T>*>(m); bn != nullptr && bn->is_training())
            fail<ValueError>(
                "{}: {} '{}' is in training mode: its batch statistics mix the samples, so a sample's "
                "gradient is not defined (call eval() first, or use GroupNorm or LayerNorm; Opacus "
                "refuses it too)",
                who, m->name(), path.empty() ? "(root)" : path);
        if (!keeps_samples(m->name(), m->extra_repr())) tree_of_known = false;
    }
    std::unordered_map<const void*, std::size_t> slot_of;
    for (auto& named : model.named_parameters()) {
        if (!named.second.requires_grad()) continue;
        slot_of.emplace(named.second.id(), plan.params.size());
        plan.params.push_back(std::move(named));
    }
    plan.fast.assign(plan.params.size(), false);
    if (!tree_of_known) return plan;
    // A parameter is fast when each module holding it directly is a supported layer (so a weight
    // tied to an Embedding, say, falls back). A module's own parameters are the undotted names of
    // its list.
    std::vector<bool> supported_only(plan.params.size(), true);
    for (const auto& [path, m] : modules) {
        FastLayer<T> layer(m);
        const bool supported = layer.supported();
        for (const auto& [name, p] : m->named_parameters()) {
            if (name.find('.') != std::string::npos) continue;
            auto it = slot_of.find(p.id());
            if (it == slot_of.end()) continue;
            if (!supported) {
                supported_only[it->second] = false;
            } else {
                (name == "weight" ? layer.weight_slot : layer.bias_slot) = it->second;
            }
        }
        if (supported && (layer.weight_slot != npos || layer.bias_slot != npos)) plan.layers.push_back(layer);
    }
    for (std::size_t s = 0; s < plan.params.size(); ++s) plan.fast[s] = supported_only[s];
    return plan;
}

// Removes the hooks it holds when it goes out of scope, also on an exception.
class HookGuard {
public:
    HookGuard() = default;
    HookGuard(const HookGuard&) = delete;
    HookGuard& operator=(const HookGuard&) = delete;
    ~HookGuard() {
        for (auto& h : handles_) h.remove();
    }
    void add(HookHandle h) { handles_.push_back(std::move(h)); }

private:
    std::vector<HookHandle> handles_;
};

// Checks that losses(begin, end) gave one loss per sample.
template <class T>
void check_losses(const char* who, const Tensor<T>& losses, std::int64_t count) {
    if (!losses.defined() || losses.ndim() != 1 || static_cast<std::int64_t>(losses.shape()[0]) != count)
        fail<ValueError>(
            "{}: loss_fn must return one loss per sample, shape [{}], but returned {}; use a "
            "per-sample loss (e.g. Reduction::None, summed over any feature dims)",
            who, count, losses.defined() ? shape_str(losses.shape()) : "an undefined tensor");
}

// A [B, *shape] array of zeros.
template <class T>
xt::xarray<T> zeros_per_sample(std::int64_t batch, const Shape& shape) {
    Shape full{static_cast<std::size_t>(batch)};
    full.insert(full.end(), shape.begin(), shape.end());
    return xt::zeros<T>(full);
}

// What the fast path computed: per call (Plan::calls, which keep each call's input), delta = dL/dz.
template <class T>
struct Deltas {
    std::vector<Tensor<T>> delta;
};

// Runs the batched forward with hooks on the fast layers, then one grad() for every delta. Slots
// whose layers turned out not to be usable (never called, or called on something that is not one
// row per sample) are moved to the fallback.
template <class T>
Deltas<T> forward_backward(const char* who, Plan<T>& plan, std::int64_t batch, const SampleLosses<T>& losses) {
    Deltas<T> out;
    const bool any_fast = std::find(plan.fast.begin(), plan.fast.end(), true) != plan.fast.end();
    if (!any_fast) return out;  // all by the loop: no batched forward
    Tensor<T> loss, total;
    {
        HookGuard guard;
        for (std::size_t l = 0; l < plan.layers.size(); ++l) {
            const auto& layer = plan.layers[l];
            const bool wanted = (layer.weight_slot != npos && plan.fast[layer.weight_slot]) ||
                                (layer.bias_slot != npos && plan.fast[layer.bias_slot]);
            if (!wanted) continue;
            if (layer.emb != nullptr) {
                guard.add(layer.module->register_index_forward_hook(
                    [&plan, l](Module<T>&, const Indices& ids, const Tensor<T>& output) -> Tensor<T> {
                        plan.calls.push_back({l, {}, output, ids});
                        return {};
                    }));
                continue;
            }
            guard.add(layer.module->register_forward_hook(
                [&plan, l](Module<T>&, const Tensor<T>& input, const Tensor<T>& output) -> Tensor<T> {
                    plan.calls.push_back({l, input, output, {}});
                    return {};
                }));
        }
        GradModeGuard recording(true);  // also under the caller's NoGradGuard
        loss = losses(0, batch);
        check_losses(who, loss, batch);
        total = tapegrad::sum(loss);
    }
    // A layer is usable when every call saw one sample per row and its output is on the loss's
    // graph (not so inside a checkpointed segment, whose graph is recorded again by the backward);
    // else its slots fall back, as do those of a layer never called through its hooks.
    std::vector<bool> usable(plan.layers.size(), false);
    for (const auto& c : plan.calls) usable[c.layer] = true;
    for (const auto& c : plan.calls)
        if (!plan.layers[c.layer].batched(c.input_shape().size()) ||
            static_cast<std::int64_t>(c.input_shape()[0]) != batch || !c.z.requires_grad())
            usable[c.layer] = false;
    // Drops the calls of unusable layers; a slot stays fast only when every layer holding it is usable.
    auto keep_usable = [&plan, &usable](std::vector<Tensor<T>>* deltas) {
        for (std::size_t l = 0; l < plan.layers.size(); ++l) {
            if (usable[l]) continue;
            for (std::size_t s : {plan.layers[l].weight_slot, plan.layers[l].bias_slot})
                if (s != npos) plan.fast[s] = false;
        }
        std::vector<Call<T>> kept;
        std::vector<Tensor<T>> kept_deltas;
        for (std::size_t k = 0; k < plan.calls.size(); ++k) {
            if (!usable[plan.calls[k].layer]) continue;
            kept.push_back(std::move(plan.calls[k]));
            if (deltas != nullptr) kept_deltas.push_back((*deltas)[k]);
        }
        plan.calls = std::move(kept);
        if (deltas != nullptr) *deltas = std::move(kept_deltas);
    };
    keep_usable(nullptr);
    if (plan.calls.empty()) return out;
    std::vector<Tensor<T>> zs;
    for (const auto& c : plan.calls) zs.push_back(c.z);
    const auto grads = tapegrad::grad<T>({total}, zs, {}, std::nullopt, false, /*allow_unused=*/true);
    std::vector<Tensor<T>> deltas(grads.begin(), grads.end());
    for (std::size_t k = 0; k < plan.calls.size(); ++k)
        if (!deltas[k].defined()) usable[plan.calls[k].layer] = false;
    keep_usable(&deltas);
    out.delta = std::move(deltas);
    return out;
}

// x [B, ..., features] as [B, T, features], the sequence dims folded into T.
template <class T>
Tensor<T> fold(const Tensor<T>& x, std::int64_t batch) {
    return tapegrad::reshape(x, std::vector<std::int64_t>{batch, -1, static_cast<std::int64_t>(x.shape().back())});
}

// One call's per-sample weight and bias gradients, [B, *shape] each (no graph). Dense: g_W[i] =
// sum_t delta[i, t]^T a[i, t] (one batched GEMM [B, out, T] x [B, T, in]), g_b[i] = sum_t delta[i, t].
// LayerNorm: g_w[i] = sum_t delta[i, t] xhat[i, t], g_b[i] = sum_t delta[i, t], xhat the
// normalised input (recomputed from a), t over the dims between the batch and the normalised ones.
// Conv1d, Conv2d: the samples become groups, so that the weight gradient of one grouped
// convolution holds every sample's: a [B, C, *] as [1, B C, *] convolved with a weight of B times
// the rows and groups B g, whose gradient for the cotangent delta [1, B out, *] is [B out, C/g, k...],
// i.e. [B, out, C/g, k...]. g_b[i] = delta[i] summed over the positions.
template <class T>
std::pair<Tensor<T>, Tensor<T>> conv_grads(const FastLayer<T>& layer, const Tensor<T>& a, const Tensor<T>& delta,
                                           std::int64_t batch) {
    const ConvBase<T>& conv = layer.conv2 != nullptr ? static_cast<const ConvBase<T>&>(*layer.conv2) : *layer.conv1;
    const Shape& wshape = conv.weight().shape();
    const auto out = static_cast<std::int64_t>(wshape[0]);
    auto flat = [batch](const Tensor<T>& x) {  // [B, C, *] as [1, B C, *]
        std::vector<std::int64_t> shape{1, batch * static_cast<std::int64_t>(x.shape()[1])};
        for (std::size_t d = 2; d < x.ndim(); ++d) shape.push_back(static_cast<std::int64_t>(x.shape()[d]));
        return tapegrad::reshape(x, shape);
    };
    Shape big_shape = wshape;
    big_shape[0] *= static_cast<std::size_t>(batch);
    const Tensor<T> big(xt::xarray<T>(xt::zeros<T>(big_shape)), /*requires_grad=*/true);
    const std::int64_t groups = batch * conv.groups();
    Tensor<T> y;
    {
        GradModeGuard recording(true);
        y = layer.conv2 != nullptr ? tapegrad::conv2d(flat(a), big, {}, layer.conv2->stride(), layer.conv2->padding(),
                                                      layer.conv2->dilation(), groups)
                                   : tapegrad::conv1d(flat(a), big, {}, layer.conv1->stride(), layer.conv1->padding(),
                                                      layer.conv1->dilation(), groups);
    }
    Tensor<T> gw = tapegrad::grad<T>({y}, {big}, {flat(delta)})[0];
    Shape per_sample{static_cast<std::size_t>(batch)};
    per_sample.insert(per_sample.end(), wshape.begin(), wshape.end());
    std::vector<std::int64_t> rows(per_sample.begin(), per_sample.end());
    return {tapegrad::reshape(gw, rows),
            tapegrad::sum(tapegrad::reshape(delta, std::vector<std::int64_t>{batch, out, -1}), Dims{2})};
}

// An Embedding call's per-sample weight gradients [B, num_embeddings, dim]: sample i's is the
// scatter-add of its rows of delta at its ids (a repeated id adds its rows), the padding row getting
// none (as the op's backward).
template <class T>
Tensor<T> embedding_grads(const Embedding<T>& emb, const Indices& ids, const Tensor<T>& delta, std::int64_t batch) {
    const auto samples = static_cast<std::size_t>(batch);
    const std::size_t tokens = ids.numel() / samples, dim = emb.embedding_dim(), rows = emb.num_embeddings();
    xt::xarray<T> out = zeros_per_sample<T>(batch, emb.weight().shape());
    const std::int64_t* id = ids.value().data();
    const T* g = delta.value().data();
    for (std::size_t i = 0; i < samples; ++i)
        for (std::size_t t = 0; t < tokens; ++t) {
            const std::int64_t k = id[i * tokens + t];
            if (k == emb.padding_idx()) continue;
            T* row = out.data() + (i * rows + static_cast<std::size_t>(k)) * dim;
            const T* src = g + (i * tokens + t) * dim;
            for (std::size_t j = 0; j < dim; ++j) row[j] += src[j];
        }
    return Tensor<T>(std::move(out));
}

// Adds each sample's squared Embedding gradient norm to squares without the [B, num_embeddings,
// dim] array: ||g_i||^2 = sum over t, t' with ids[i, t] == ids[i, t'] (not the padding id) of
// <delta[i, t], delta[i, t']>, i.e. the squared norms of the sums of each id's rows (the tokens
// sorted by id, one sum per run).
template <class T>
void add_embedding_norms(const Embedding<T>& emb, const Indices& ids, const Tensor<T>& delta, std::int64_t batch,
                         xt::xarray<T>& squares) {
    const auto samples = static_cast<std::size_t>(batch);
    const std::size_t tokens = ids.numel() / samples, dim = emb.embedding_dim();
    const T* g = delta.value().data();
    std::vector<std::size_t> order(tokens);
    std::vector<T> sum(dim);
    for (std::size_t i = 0; i < samples; ++i) {
        const std::int64_t* id = ids.value().data() + i * tokens;
        for (std::size_t t = 0; t < tokens; ++t) order[t] = t;
        std::sort(order.begin(), order.end(), [id](std::size_t x, std::size_t y) { return id[x] < id[y]; });
        for (std::size_t run = 0; run < tokens;) {
            std::size_t end = run;
            std::fill(sum.begin(), sum.end(), T(0));
            for (; end < tokens && id[order[end]] == id[order[run]]; ++end) {
                const T* src = g + (i * tokens + order[end]) * dim;
                for (std::size_t j = 0; j < dim; ++j) sum[j] += src[j];
            }
            if (id[order[run]] != emb.padding_idx())
                for (const T v : sum) squares(i) += v * v;
            run = end;
        }
    }
}

template <class T>
std::pair<Tensor<T>, Tensor<T>> call_grads(const FastLayer<T>& layer, const Call<T>& call, const Tensor<T>& delta,
                                           std::int64_t batch) {
    if (layer.emb != nullptr) return {embedding_grads(*layer.emb, call.ids, delta, batch), Tensor<T>()};
    const Tensor<T>& a = call.a;
    if (layer.conv1 != nullptr || layer.conv2 != nullptr) return conv_grads(layer, a, delta, batch);
    if (layer.dense != nullptr) {
        const Tensor<T> d3 = fold(delta, batch);
        return {tapegrad::gemm(d3, fold(a, batch), true, false), tapegrad::sum(d3, Dims{1})};
    }
    const auto& normalized = layer.norm->normalized_shape();
    std::vector<std::int64_t> rows{batch, -1};
    rows.insert(rows.end(), normalized.begin(), normalized.end());
    const Tensor<T> xhat = tapegrad::layer_norm(a, normalized, {}, {}, layer.norm->eps());
    return {tapegrad::sum(tapegrad::reshape(delta * xhat, rows), Dims{1}),
            tapegrad::sum(tapegrad::reshape(delta, rows), Dims{1})};
}

// Per parameter slot, its [B, *shape] per-sample gradients once computed.
template <class T>
using Slots = std::vector<std::optional<xt::xarray<T>>>;

// The exact fallback: for each sample, its forward and one grad() for the fallback slots, written
// into row i of out[slot].
template <class T>
void loop_over_samples(const char* who, const Plan<T>& plan, std::int64_t batch, const SampleLosses<T>& losses,
                       Slots<T>& out) {
    std::vector<std::size_t> slots;
    std::vector<Tensor<T>> inputs;
    for (std::size_t s = 0; s < plan.params.size(); ++s) {
        if (plan.fast[s]) continue;
        slots.push_back(s);
        inputs.push_back(plan.params[s].second);
    }
    if (slots.empty()) return;
    for (std::size_t s : slots) out[s] = zeros_per_sample<T>(batch, plan.params[s].second.shape());
    for (std::int64_t i = 0; i < batch; ++i) {
        Tensor<T> total;
        {
            GradModeGuard recording(true);
            const Tensor<T> loss = losses(i, i + 1);
            check_losses(who, loss, 1);
            total = tapegrad::sum(loss);
        }
        auto g = tapegrad::grad<T>({total}, inputs, {}, std::nullopt, false, /*allow_unused=*/true);
        for (std::size_t k = 0; k < slots.size(); ++k) {
            if (!g[k].defined()) continue;
            const auto& v = g[k].value();
            std::copy_n(v.data(), v.size(), out[slots[k]]->data() + static_cast<std::size_t>(i) * v.size());
        }
    }
}

// Adds `g` (a fresh [B, *shape] result, no graph) into out[slot], or moves it there (no copy: these
// arrays are B times the model's size).
template <class T>
void add_into(Slots<T>& out, std::size_t slot, Tensor<T> g, const Shape& param_shape) {
    Shape full{g.shape()[0]};
    full.insert(full.end(), param_shape.begin(), param_shape.end());
    if (!out[slot]) {
        out[slot] = std::move(g.mutable_value());
        out[slot]->reshape(full);
    } else {
        *out[slot] += xt::reshape_view(g.value(), full);
    }
}

}  // namespace

template <class T>
NamedGrads<T> per_sample_grads_of(Module<T>& model, std::int64_t batch, const SampleLosses<T>& losses) {
    constexpr const char* who = "per_sample_grads";
    Plan<T> plan = make_plan(who, model, batch);
    Deltas<T> d = forward_backward(who, plan, batch, losses);
    Slots<T> out(plan.params.size());
    {
        NoGradGuard no_grad;
        for (std::size_t k = 0; k < plan.calls.size(); ++k) {
            const auto& layer = plan.layers[plan.calls[k].layer];
            auto [gw, gb] = call_grads(layer, plan.calls[k], d.delta[k], batch);
            const std::size_t ws = layer.weight_slot, bs = layer.bias_slot;
            if (ws != npos && plan.fast[ws]) add_into(out, ws, std::move(gw), plan.params[ws].second.shape());
            if (bs != npos && plan.fast[bs]) add_into(out, bs, std::move(gb), plan.params[bs].second.shape());
        }
    }
    loop_over_samples(who, plan, batch, losses, out);
    NamedGrads<T> result;
    result.reserve(plan.params.size());
    for (std::size_t s = 0; s < plan.params.size(); ++s) {
        if (!out[s]) out[s] = zeros_per_sample<T>(batch, plan.params[s].second.shape());  // no effect on the loss
        result.emplace_back(plan.params[s].first, Tensor<T>(std::move(*out[s])));
    }
    return result;
}

// Each sample's squared norm ||x_i||^2 of x [B, ...] (row-major): eight partial sums per row, so
// that the adds are independent and vectorise (sum() folds in order, one add after another: a
// tenth of the norms' time at batch 128 on the MLP).
template <class T>
xt::xarray<T> row_squares(const Tensor<T>& x, std::int64_t batch) {
    constexpr std::size_t lanes = 8;
    const auto rows = static_cast<std::size_t>(batch);
    const std::size_t n = x.numel() / rows;
    xt::xarray<T> out = xt::zeros<T>({rows});
    const T* p = x.value().data();
    for (std::size_t i = 0; i < rows; ++i, p += n) {
        T part[lanes] = {};
        std::size_t j = 0;
        for (; j + lanes <= n; j += lanes)
            for (std::size_t l = 0; l < lanes; ++l) part[l] += p[j + l] * p[j + l];
        T acc = 0;
        for (; j < n; ++j) acc += p[j] * p[j];
        for (const T v : part) acc += v;
        out(i) = acc;
    }
    return out;
}

template <class T>
Tensor<T> per_sample_grad_norms_of(Module<T>& model, std::int64_t batch, const SampleLosses<T>& losses) {
    constexpr const char* who = "per_sample_grad_norms";
    Plan<T> plan = make_plan(who, model, batch);
    Deltas<T> d = forward_backward(who, plan, batch, losses);
    // A slot's norm is a ghost norm when it has exactly one contribution (one call of one layer).
    std::vector<int> uses(plan.params.size(), 0);
    for (const auto& c : plan.calls)
        for (std::size_t s : {plan.layers[c.layer].weight_slot, plan.layers[c.layer].bias_slot})
            if (s != npos) ++uses[s];
    xt::xarray<T> squares = xt::zeros<T>({static_cast<std::size_t>(batch)});
    Slots<T> out(plan.params.size());
    {
        NoGradGuard no_grad;
        for (std::size_t k = 0; k < plan.calls.size(); ++k) {
            const auto& layer = plan.layers[plan.calls[k].layer];
            const std::size_t ws = layer.weight_slot, bs = layer.bias_slot;
            if (layer.emb != nullptr && ws != npos && plan.fast[ws] && uses[ws] == 1) {
                add_embedding_norms(*layer.emb, plan.calls[k].ids, d.delta[k], batch, squares);
                continue;
            }
            if (layer.dense == nullptr) {  // LayerNorm, convolutions, a shared Embedding: materialised
                auto [gw, gb] = call_grads(layer, plan.calls[k], d.delta[k], batch);
                if (ws != npos && plan.fast[ws]) add_into(out, ws, std::move(gw), plan.params[ws].second.shape());
                if (bs != npos && plan.fast[bs]) add_into(out, bs, std::move(gb), plan.params[bs].second.shape());
                continue;
            }
            const Tensor<T> a = fold(plan.calls[k].a, batch), delta = fold(d.delta[k], batch);
            const std::size_t steps = a.shape()[1], in = a.shape()[2], features = delta.shape()[2];
            if (ws != npos && plan.fast[ws]) {
                if (uses[ws] == 1 && steps == 1) {
                    // ||delta_i a_i^T||_F^2 = ||a_i||^2 ||delta_i||^2
                    squares += row_squares(a, batch) * row_squares(delta, batch);
                } else if (uses[ws] == 1 && steps * steps < in * features) {
                    // sum_{t,s} (a_t . a_s)(delta_t . delta_s): the T x T Gram matrices, never out x in
                    Tensor<T> ga = tapegrad::gemm(a, a, false, true), gd = tapegrad::gemm(delta, delta, false, true);
                    squares += tapegrad::sum(ga * gd, Dims{1, 2}).value();
                } else {
                    add_into(out, ws, tapegrad::gemm(delta, a, true, false), plan.params[ws].second.shape());
                }
            }
            if (bs != npos && plan.fast[bs]) {
                Tensor<T> gb = tapegrad::sum(delta, Dims{1});
                if (uses[bs] == 1) {
                    squares += tapegrad::sum(gb * gb, Dims{1}).value();
                } else {
                    add_into(out, bs, gb, plan.params[bs].second.shape());
                }
            }
        }
    }
    loop_over_samples(who, plan, batch, losses, out);
    for (const auto& slot : out) {
        if (!slot) continue;
        const auto& g = *slot;
        const std::size_t row = g.size() / static_cast<std::size_t>(batch);
        for (std::int64_t i = 0; i < batch; ++i) {
            T acc = 0;
            const T* p = g.data() + static_cast<std::size_t>(i) * row;
            for (std::size_t j = 0; j < row; ++j) acc += p[j] * p[j];
            squares(i) += acc;
        }
    }
    return Tensor<T>(xt::xarray<T>(xt::sqrt(squares)));
}

template NamedGrads<float> per_sample_grads_of(Module<float>&, std::int64_t, const SampleLosses<float>&);
template NamedGrads<double> per_sample_grads_of(Module<double>&, std::int64_t, const SampleLosses<double>&);
template Tensor<float> per_sample_grad_norms_of(Module<float>&, std::int64_t, const SampleLosses<float>&);
template Tensor<double> per_sample_grad_norms_of(Module<double>&, std::int64_t, const SampleLosses<double>&);

}  // namespace tapegrad::nn
