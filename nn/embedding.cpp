#include <tapegrad/nn/embedding.hpp>

#include <cmath>

#include <fmt/format.h>

#include <tapegrad/autograd/factories.hpp>
#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/embedding.hpp>
#include <tapegrad/ops/shape.hpp>

namespace tapegrad::nn {

namespace {

/// padding_idx resolved against num rows (PyTorch counts a negative one from the end).
std::optional<std::int64_t> resolve_padding(const char* who, std::optional<std::int64_t> padding, std::size_t num) {
    if (!padding) return padding;
    const auto n = static_cast<std::int64_t>(num);
    if (*padding < -n || *padding >= n)
        fail<ValueError>("{}: padding_idx {} is out of range for num_embeddings {}", who, *padding, num);
    return *padding < 0 ? *padding + n : *padding;
}

/// The positional modules' input check: [..., seq, d_model] with seq <= max_len.
template <class T>
void check_positions(const char* who, const Tensor<T>& x, std::size_t max_len, std::size_t d_model) {
    if (!x.defined() || x.ndim() < 2 || x.shape().back() != d_model || x.shape()[x.ndim() - 2] > max_len) {
        fail<ShapeError>("{}(max_len={}, d_model={}): input has shape {}; expected [..., seq, {}] with seq <= {}", who,
                         max_len, d_model, x.defined() ? shape_str(x.shape()) : "undefined", d_model, max_len);
    }
}

void check_sizes(const char* who, std::size_t max_len, std::size_t d_model) {
    if (max_len == 0 || d_model == 0)
        fail<ValueError>("{}: max_len {} and d_model {} must both be positive", who, max_len, d_model);
}

/// x + table[0:seq], seq being x's second-to-last dim.
template <class T>
Tensor<T> add_positions(const Tensor<T>& x, const Tensor<T>& table) {
    const auto seq = static_cast<std::int64_t>(x.shape()[x.ndim() - 2]);
    return x + slice(table, 0, 0, seq);
}

}  // namespace

template <class T>
Embedding<T>::Embedding(std::size_t num_embeddings, std::size_t embedding_dim, Generator& gen,
                        std::optional<std::int64_t> padding_idx)
    : Embedding(zeros<T>({num_embeddings, embedding_dim}), padding_idx) {
    reset_parameters(gen);
}

template <class T>
Embedding<T>::Embedding(Tensor<T> weight, std::optional<std::int64_t> padding_idx)
    : padding_(resolve_padding("Embedding", padding_idx, weight.shape()[0])) {
    this->register_parameter("weight", &Embedding::weight_, std::move(weight));
}

template <class T>
Embedding<T> Embedding<T>::from_pretrained(const Tensor<T>& weights, bool freeze,
                                           std::optional<std::int64_t> padding_idx) {
    if (!weights.defined() || weights.ndim() != 2) {
        fail<ShapeError>("Embedding::from_pretrained: weights has shape {}; expected 2 dimensions",
                         weights.defined() ? shape_str(weights.shape()) : "undefined");
    }
    Embedding table(Tensor<T>(weights.value()), padding_idx);
    table.weight_.requires_grad_(!freeze);
    return table;
}

template <class T>
void Embedding<T>::reset_parameters(Generator& gen) {
    init::normal_(weight_, gen);  // PyTorch's Embedding: N(0, 1), then the padding row zeroed
    if (padding_) {
        NoGradGuard no_grad;
        const std::size_t dim = embedding_dim();
        std::fill_n(weight_.mutable_value().data() + static_cast<std::size_t>(*padding_) * dim, dim, T(0));
    }
}

template <class T>
Tensor<T> Embedding<T>::forward(const Indices& idx) {
    return embedding(idx, weight_, padding_);
}

template <class T>
std::string Embedding<T>::extra_repr() const {
    std::string s = fmt::format("{}, {}", num_embeddings(), embedding_dim());
    if (padding_) s += fmt::format(", padding_idx={}", *padding_);
    return s;
}

template <class T>
std::shared_ptr<Module<double>> Embedding<T>::to_float64() const {
    Generator unused(0);  // drawn values that copy_state_to overwrites
    auto copy =
        this->copy_state_to(std::make_shared<Embedding<double>>(num_embeddings(), embedding_dim(), unused, padding_));
    Tensor<double> weight = copy->weight();  // a handle: frozen stays frozen
    weight.requires_grad_(weight_.requires_grad());
    return copy;
}

template <class T>
SinusoidalPositionalEncoding<T>::SinusoidalPositionalEncoding(std::size_t max_len, std::size_t d_model)
    : max_len_(max_len), d_model_(d_model) {
    check_sizes("SinusoidalPositionalEncoding", max_len, d_model);
    xt::xarray<T> pe = xt::xarray<T>::from_shape({max_len, d_model});
    for (std::size_t i = 0; i < d_model; i += 2) {
        // 10000^(-i / d_model) as the tutorial's exp(i * -ln(10000) / d_model), in double
        const double rate = std::exp(static_cast<double>(i) * -std::log(10000.0) / static_cast<double>(d_model));
        for (std::size_t pos = 0; pos < max_len; ++pos) {
            const double angle = static_cast<double>(pos) * rate;
            pe(pos, i) = static_cast<T>(std::sin(angle));
            if (i + 1 < d_model) pe(pos, i + 1) = static_cast<T>(std::cos(angle));
        }
    }
    this->register_buffer("pe", &SinusoidalPositionalEncoding::pe_, Tensor<T>(std::move(pe)));
}

template <class T>
Tensor<T> SinusoidalPositionalEncoding<T>::forward(const Tensor<T>& x) {
    check_positions("SinusoidalPositionalEncoding", x, max_len_, d_model_);
    return add_positions(x, pe_);
}

template <class T>
std::string SinusoidalPositionalEncoding<T>::extra_repr() const {
    return fmt::format("max_len={}, d_model={}", max_len_, d_model_);
}

template <class T>
std::shared_ptr<Module<double>> SinusoidalPositionalEncoding<T>::to_float64() const {
    return this->copy_state_to(std::make_shared<SinusoidalPositionalEncoding<double>>(max_len_, d_model_));
}

template <class T>
LearnedPositionalEmbedding<T>::LearnedPositionalEmbedding(std::size_t max_len, std::size_t d_model, Generator& gen)
    : max_len_(max_len), d_model_(d_model) {
    check_sizes("LearnedPositionalEmbedding", max_len, d_model);
    this->register_parameter("weight", &LearnedPositionalEmbedding::weight_, zeros<T>({max_len, d_model}));
    init::normal_(weight_, gen);  // as nn::Embedding
}

template <class T>
Tensor<T> LearnedPositionalEmbedding<T>::forward(const Tensor<T>& x) {
    check_positions("LearnedPositionalEmbedding", x, max_len_, d_model_);
    return add_positions(x, weight_);
}

template <class T>
std::string LearnedPositionalEmbedding<T>::extra_repr() const {
    return fmt::format("max_len={}, d_model={}", max_len_, d_model_);
}

template <class T>
std::shared_ptr<Module<double>> LearnedPositionalEmbedding<T>::to_float64() const {
    Generator unused(0);
    return this->copy_state_to(std::make_shared<LearnedPositionalEmbedding<double>>(max_len_, d_model_, unused));
}

template class Embedding<float>;
template class Embedding<double>;
template class SinusoidalPositionalEncoding<float>;
template class SinusoidalPositionalEncoding<double>;
template class LearnedPositionalEmbedding<float>;
template class LearnedPositionalEmbedding<double>;

}  // namespace tapegrad::nn
