#include <tapegrad/nn/transformer.hpp>

#include <fmt/format.h>

#include <tapegrad/nn/sequential.hpp>

namespace tapegrad::nn {

namespace {

void check_options(const char* who, const TransformerEncoderLayerOptions& o) {
    if (o.d_model == 0 || o.nhead == 0 || o.d_model % o.nhead != 0)
        fail<ValueError>("{}: d_model ({}) must be a positive multiple of nhead ({})", who, o.d_model, o.nhead);
    if (o.dim_feedforward == 0) fail<ValueError>("{}: dim_feedforward is 0; it must be positive", who);
}

}  // namespace

template <class T>
TransformerEncoderLayer<T>::TransformerEncoderLayer(const TransformerEncoderLayerOptions& options, Generator& gen)
    : options_(options) {
    check_options("TransformerEncoderLayer", options);
    const auto& o = options_;
    // PyTorch's registration order, so that named_parameters() lists the same keys in the same order.
    self_attn_ = std::make_shared<MultiheadAttention<T>>(o.d_model, o.nhead, gen, o.dropout, o.bias, o.batch_first);
    linear1_ = std::make_shared<Dense<T>>(o.d_model, o.dim_feedforward, gen, o.bias);
    dropout_ = std::make_shared<Dropout<T>>(o.dropout, gen);
    linear2_ = std::make_shared<Dense<T>>(o.dim_feedforward, o.d_model, gen, o.bias);
    norm1_ = std::make_shared<LayerNorm<T>>(std::vector<std::int64_t>{std::int64_t(o.d_model)}, o.layer_norm_eps, true,
                                            o.bias);
    norm2_ = std::make_shared<LayerNorm<T>>(std::vector<std::int64_t>{std::int64_t(o.d_model)}, o.layer_norm_eps, true,
                                            o.bias);
    dropout1_ = std::make_shared<Dropout<T>>(o.dropout, gen);
    dropout2_ = std::make_shared<Dropout<T>>(o.dropout, gen);
    this->register_module("self_attn", self_attn_);
    this->register_module("linear1", linear1_);
    this->register_module("dropout", dropout_);
    this->register_module("linear2", linear2_);
    this->register_module("norm1", norm1_);
    this->register_module("norm2", norm2_);
    this->register_module("dropout1", dropout1_);
    this->register_module("dropout2", dropout2_);
}

template <class T>
Tensor<T> TransformerEncoderLayer<T>::self_attention_block(const Tensor<T>& x, const TransformerEncoderArgs<T>& args) {
    MultiheadAttentionArgs<T> attention{.key_padding_mask = args.src_key_padding_mask,
                                        .need_weights = false,
                                        .attn_mask = args.mask,
                                        .is_causal = args.is_causal,
                                        .gen = &dropout_->generator()};
    return (*dropout1_)(self_attn_->forward(x, x, x, attention).output);
}

template <class T>
Tensor<T> TransformerEncoderLayer<T>::feed_forward_block(const Tensor<T>& x) {
    Tensor<T> h = (*linear1_)(x);
    h = options_.activation == TransformerActivation::GELU ? gelu(h) : relu(h);
    return (*dropout2_)((*linear2_)((*dropout_)(h)));
}

template <class T>
Tensor<T> TransformerEncoderLayer<T>::forward(const Tensor<T>& src) {
    return forward(src, {});
}

template <class T>
Tensor<T> TransformerEncoderLayer<T>::forward(const Tensor<T>& src, const TransformerEncoderArgs<T>& args) {
    Tensor<T> x = src;
    if (options_.norm_first) {
        x = add(x, self_attention_block((*norm1_)(x), args));
        return add(x, feed_forward_block((*norm2_)(x)));
    }
    x = (*norm1_)(add(x, self_attention_block(x, args)));
    return (*norm2_)(add(x, feed_forward_block(x)));
}

template <class T>
std::shared_ptr<Module<double>> TransformerEncoderLayer<T>::to_float64() const {
    Generator unused(0);  // the constructor draws what copy_state_to overwrites
    auto copy = std::make_shared<TransformerEncoderLayer<double>>(options_, unused);
    copy_streams_to(*copy);
    return this->copy_state_to(copy);
}

template <class T>
void TransformerEncoderLayer<T>::copy_streams_to(TransformerEncoderLayer<double>& copy) const {
    // The dropout masks are part of what a float64 twin must reproduce (parameters and buffers
    // are copied by copy_state_to).
    copy.dropout_->generator().set_state(dropout_->generator().state());
    copy.dropout1_->generator().set_state(dropout1_->generator().state());
    copy.dropout2_->generator().set_state(dropout2_->generator().state());
}

template <class T>
TransformerEncoder<T>::TransformerEncoder(const TransformerEncoderLayerOptions& layer, std::size_t num_layers,
                                          Generator& gen, bool final_norm)
    : options_(layer), final_norm_(final_norm) {
    check_options("TransformerEncoder", layer);
    if (num_layers == 0) fail<ValueError>("TransformerEncoder: num_layers is 0; it must be positive");
    auto layers = std::make_shared<Sequential<T>>();
    for (std::size_t i = 0; i < num_layers; ++i)
        layers_.push_back(layers->add(std::make_shared<TransformerEncoderLayer<T>>(layer, gen)));
    this->register_module("layers", layers);
    if (final_norm) {
        norm_ = std::make_shared<LayerNorm<T>>(std::vector<std::int64_t>{std::int64_t(layer.d_model)},
                                               layer.layer_norm_eps, true, layer.bias);
        this->register_module("norm", norm_);
    }
}

template <class T>
Tensor<T> TransformerEncoder<T>::forward(const Tensor<T>& src) {
    return forward(src, {});
}

template <class T>
Tensor<T> TransformerEncoder<T>::forward(const Tensor<T>& src, const TransformerEncoderArgs<T>& args) {
    Tensor<T> x = src;
    for (const auto& layer : layers_) x = layer->forward(x, args);
    return norm_ ? (*norm_)(x) : x;
}

template <class T>
TransformerEncoderLayer<T>& TransformerEncoder<T>::layer(std::size_t i) const {
    if (i >= layers_.size())
        fail<IndexError>("TransformerEncoder::layer: index {} is out of range for {} layers", i, layers_.size());
    return *layers_[i];
}

template <class T>
std::shared_ptr<Module<double>> TransformerEncoder<T>::to_float64() const {
    Generator unused(0);  // the constructor draws what copy_state_to overwrites
    auto copy = std::make_shared<TransformerEncoder<double>>(options_, layers_.size(), unused, final_norm_);
    for (std::size_t i = 0; i < layers_.size(); ++i) layers_[i]->copy_streams_to(*copy->layers_[i]);
    return this->copy_state_to(copy);
}

template class TransformerEncoderLayer<float>;
template class TransformerEncoderLayer<double>;
template class TransformerEncoder<float>;
template class TransformerEncoder<double>;

}  // namespace tapegrad::nn
