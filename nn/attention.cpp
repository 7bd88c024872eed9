#include <tapegrad/nn/attention.hpp>

#include <limits>

#include <fmt/format.h>

#include <tapegrad/autograd/factories.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/layout.hpp>
#include <tapegrad/ops/matmul.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/ops/select.hpp>
#include <tapegrad/ops/shape.hpp>

namespace tapegrad::nn {

namespace {

constexpr const char* kName = "MultiheadAttention";

template <class T>
std::string shape_of(const Tensor<T>& t) {
    return t.defined() ? shape_str(t.shape()) : "undefined";
}

/// [L, S], true where key j <= query i.
Mask causal_keep(std::size_t l_len, std::size_t s_len) {
    Mask keep = Mask::full({l_len, s_len}, false);
    for (std::size_t i = 0; i < l_len; ++i)
        for (std::size_t j = 0; j <= i && j < s_len; ++j) keep[i * s_len + j] = true;
    return keep;
}

}  // namespace

template <class T>
Tensor<T> causal_mask(std::size_t length) {
    xt::xarray<T> m = xt::zeros<T>({length, length});
    for (std::size_t i = 0; i < length; ++i)
        for (std::size_t j = i + 1; j < length; ++j) m(i, j) = -std::numeric_limits<T>::infinity();
    return Tensor<T>(std::move(m));
}

template <class T>
MultiheadAttention<T>::MultiheadAttention(std::size_t embed_dim, std::size_t num_heads, Generator& gen, double dropout,
                                          bool bias, bool batch_first, std::optional<std::size_t> kdim,
                                          std::optional<std::size_t> vdim)
    : embed_dim_(embed_dim),
      num_heads_(num_heads),
      dropout_(dropout),
      batch_first_(batch_first),
      kdim_(kdim.value_or(embed_dim)),
      vdim_(vdim.value_or(embed_dim)) {
    if (embed_dim == 0 || num_heads == 0 || embed_dim % num_heads != 0) {
        fail<ValueError>("{}: embed_dim {} must be positive and divisible by num_heads {}", kName, embed_dim,
                         num_heads);
    }
    if (kdim_ == 0 || vdim_ == 0) fail<ValueError>("{}: kdim {} and vdim {} must be positive", kName, kdim_, vdim_);
    if (!(dropout >= 0 && dropout < 1)) fail<ValueError>("{}: dropout is {}; expected 0 <= p < 1", kName, dropout);
    const std::size_t e = embed_dim;
    // PyTorch builds out_proj (Linear's default draws) first, then _reset_parameters: xavier_uniform_
    // of the input projections, zeros for in_proj_bias and out_proj.bias.
    out_proj_ = std::make_shared<Dense<T>>(e, e, gen, bias);
    if (kdim_ == e && vdim_ == e) {
        this->register_parameter("in_proj_weight", &MultiheadAttention::in_proj_weight_,
                                 init::xavier_uniform_(zeros<T>({3 * e, e}), gen));
    } else {
        this->register_parameter("q_proj_weight", &MultiheadAttention::q_proj_weight_,
                                 init::xavier_uniform_(zeros<T>({e, e}), gen));
        this->register_parameter("k_proj_weight", &MultiheadAttention::k_proj_weight_,
                                 init::xavier_uniform_(zeros<T>({e, kdim_}), gen));
        this->register_parameter("v_proj_weight", &MultiheadAttention::v_proj_weight_,
                                 init::xavier_uniform_(zeros<T>({e, vdim_}), gen));
    }
    if (bias) {
        this->register_parameter("in_proj_bias", &MultiheadAttention::in_proj_bias_, zeros<T>({3 * e}));
        init::zeros_(out_proj_->bias());
    }
    this->register_module("out_proj", out_proj_);
}

template <class T>
std::array<Tensor<T>, 3> MultiheadAttention<T>::project(const Tensor<T>& query, const Tensor<T>& key,
                                                        const Tensor<T>& value) const {
    const auto e = static_cast<std::int64_t>(embed_dim_);
    const auto bias = [&](std::int64_t part) {
        return in_proj_bias_.defined() ? slice(in_proj_bias_, 0, part * e, (part + 1) * e) : Tensor<T>();
    };
    if (in_proj_weight_.defined() && query.same(key) && key.same(value)) {
        // Self-attention: one GEMM for the three projections, then split.
        std::vector<Tensor<T>> qkv = split(linear(query, in_proj_weight_, in_proj_bias_), e, -1);
        return {qkv[0], qkv[1], qkv[2]};
    }
    const auto weight = [&](std::int64_t part, const Tensor<T>& own) {
        return in_proj_weight_.defined() ? slice(in_proj_weight_, 0, part * e, (part + 1) * e) : own;
    };
    return {linear(query, weight(0, q_proj_weight_), bias(0)), linear(key, weight(1, k_proj_weight_), bias(1)),
            linear(value, weight(2, v_proj_weight_), bias(2))};
}

template <class T>
AttentionMask<T> MultiheadAttention<T>::merged_mask(const MultiheadAttentionArgs<T>& args, std::size_t n,
                                                    std::size_t l_len, std::size_t s_len, bool unbatched) const {
    const AttentionMask<T>& attn = args.attn_mask;
    const Shape* attn_shape = attn.boolean              ? &attn.boolean->shape()
                              : attn.additive.defined() ? &attn.additive.shape()
                                                        : nullptr;
    const Shape lead = unbatched ? Shape{num_heads_} : Shape{n * num_heads_};
    if (attn_shape && *attn_shape != Shape{l_len, s_len} && *attn_shape != Shape{lead[0], l_len, s_len}) {
        fail<ShapeError>("{}: attn_mask has shape {}; expected [{}, {}] or [{}, {}, {}] ({}L, S)", kName,
                         shape_str(*attn_shape), l_len, s_len, lead[0], l_len, s_len,
                         unbatched ? "num_heads, " : "N * num_heads, ");
    }
    // Everything is expressed over [N, H, L, S] (unbatched: N = 1).
    const Shape heads4 = {n, num_heads_, l_len, s_len};
    std::optional<Mask> keep;  // true = takes part (scaled_dot_product_attention's convention)
    Tensor<T> additive;
    if (attn.boolean) {
        keep = logical_not(*attn.boolean);
        if (attn_shape->size() == 3) keep->mutable_value().reshape(heads4);
    } else if (attn.additive.defined()) {
        additive = attn_shape->size() == 3 ? reshape(attn.additive, heads4) : attn.additive;
    } else if (args.is_causal && args.key_padding_mask) {
        keep = causal_keep(l_len, s_len);  // merged below; alone, the op's is_causal does it
    }
    if (args.key_padding_mask) {
        const Mask& pad = *args.key_padding_mask;
        const Shape expected = unbatched ? Shape{s_len} : Shape{n, s_len};
        if (pad.shape() != expected) {
            fail<ShapeError>("{}: key_padding_mask has shape {}; expected {} ({}S)", kName, shape_str(pad.shape()),
                             shape_str(expected), unbatched ? "" : "N, ");
        }
        Mask ignore = pad;
        ignore.mutable_value().reshape({n, 1, 1, s_len});
        if (additive.defined()) {
            additive = masked_fill(additive, ignore, -std::numeric_limits<T>::infinity());
        } else {
            keep = keep ? logical_and(*keep, logical_not(ignore)) : logical_not(ignore);
        }
    }
    if (keep) return *keep;
    return additive;
}

template <class T>
MultiheadAttentionOutput<T> MultiheadAttention<T>::forward(const Tensor<T>& query, const Tensor<T>& key,
                                                           const Tensor<T>& value,
                                                           const MultiheadAttentionArgs<T>& args) {
    const bool unbatched = query.defined() && query.ndim() == 2;
    const std::size_t rank = unbatched ? 2 : 3;
    const auto shapes = [&] {
        return fmt::format("query has shape {}, key has shape {}, value has shape {}", shape_of(query), shape_of(key),
                           shape_of(value));
    };
    if (!query.defined() || !key.defined() || !value.defined() || query.ndim() != rank || key.ndim() != rank ||
        value.ndim() != rank) {
        fail<ShapeError>(
            "{}: {}; expected three 3-d tensors ({}) or three 2-d ones (unbatched)", kName, shapes(),
            batch_first_ ? "[N, L, E], [N, S, kdim], [N, S, vdim]" : "[L, N, E], [S, N, kdim], [S, N, vdim]");
    }
    // Internally batch first: [N, L, E].
    const auto batch_major = [&](const Tensor<T>& x) {
        return unbatched ? unsqueeze(x, 0) : batch_first_ ? x : transpose(x, 0, 1);
    };
    const Tensor<T> q_in = batch_major(query), k_in = batch_major(key), v_in = batch_major(value);
    const std::size_t n = q_in.shape()[0], l_len = q_in.shape()[1], s_len = k_in.shape()[1];
    if (q_in.shape()[2] != embed_dim_ || k_in.shape()[2] != kdim_ || v_in.shape()[2] != vdim_ || k_in.shape()[0] != n ||
        v_in.shape()[0] != n || v_in.shape()[1] != s_len) {
        fail<ShapeError>("{}: {}; expected features {}, {} and {}, one batch size and one key length in key and value",
                         kName, shapes(), embed_dim_, kdim_, vdim_);
    }
    const AttentionMask<T> mask = merged_mask(args, n, l_len, s_len, unbatched);
    // The causal hint goes to the op only when nothing else was merged into the mask.
    const bool causal = args.is_causal && mask.empty();
    const auto h = static_cast<std::int64_t>(num_heads_), d = static_cast<std::int64_t>(embed_dim_ / num_heads_);
    const auto heads = [&](const Tensor<T>& x) {  // [N, len, E] -> [N, H, len, D]
        return transpose(reshape(x, {static_cast<std::int64_t>(n), static_cast<std::int64_t>(x.shape()[1]), h, d}), 1,
                         2);
    };
    const auto [q, k, v] = project(q_in, k_in, v_in);
    const double p = this->is_training() ? dropout_ : 0.0;
    MultiheadAttentionOutput<T> out;
    Tensor<T> o;
    if (args.need_weights) {
        out.weights = attention_weights(heads(q), heads(k), mask, causal, p, std::nullopt, args.gen);
        o = matmul(out.weights, heads(v));
        if (args.average_attn_weights) out.weights = mean(out.weights, {1});
        if (unbatched) out.weights = squeeze(out.weights, 0);
    } else {
        o = scaled_dot_product_attention(heads(q), heads(k), heads(v), mask, causal, p, std::nullopt, args.gen);
    }
    o = (*out_proj_)(reshape(transpose(o, 1, 2), {static_cast<std::int64_t>(n), static_cast<std::int64_t>(l_len),
                                                  static_cast<std::int64_t>(embed_dim_)}));
    out.output = unbatched ? squeeze(o, 0) : batch_first_ ? o : transpose(o, 0, 1);
    return out;
}

template <class T>
std::string MultiheadAttention<T>::extra_repr() const {
    std::string s = fmt::format("embed_dim={}, num_heads={}", embed_dim_, num_heads_);
    if (dropout_ > 0) s += fmt::format(", dropout={}", dropout_);
    if (!in_proj_bias_.defined()) s += ", bias=false";
    if (kdim_ != embed_dim_ || vdim_ != embed_dim_) s += fmt::format(", kdim={}, vdim={}", kdim_, vdim_);
    if (batch_first_) s += ", batch_first";
    return s;
}

template <class T>
std::shared_ptr<Module<double>> MultiheadAttention<T>::to_float64() const {
    Generator unused(0);  // the constructor draws parameters that copy_state_to overwrites
    return this->copy_state_to(std::make_shared<MultiheadAttention<double>>(
        embed_dim_, num_heads_, unused, dropout_, in_proj_bias_.defined(), batch_first_, kdim_, vdim_));
}

template Tensor<float> causal_mask(std::size_t);
template Tensor<double> causal_mask(std::size_t);
template class MultiheadAttention<float>;
template class MultiheadAttention<double>;

}  // namespace tapegrad::nn
