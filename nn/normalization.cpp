#include <tapegrad/nn/normalization.hpp>

#include <fmt/format.h>

#include <tapegrad/autograd/factories.hpp>
#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/ops/normalization.hpp>

namespace tapegrad::nn {

namespace {

/// Python's tuple repr: "(8,)", "(2, 3)".
std::string tuple_str(const std::vector<std::int64_t>& s) {
    return s.size() == 1 ? fmt::format("({},)", s[0]) : fmt::format("({})", fmt::join(s, ", "));
}

const char* py_bool(bool on) {
    return on ? "True" : "False";
}

Shape shape_of(const char* layer, const std::vector<std::int64_t>& s) {
    Shape out;
    for (auto d : s) {
        if (d < 0) fail<ValueError>("{}: normalized_shape {} has a negative size", layer, tuple_str(s));
        out.push_back(static_cast<std::size_t>(d));
    }
    if (out.empty()) fail<ValueError>("{}: normalized_shape is empty", layer);
    return out;
}

std::size_t positive(const char* layer, const char* arg, std::int64_t v) {
    if (v <= 0) fail<ValueError>("{}: {} = {} must be positive", layer, arg, v);
    return static_cast<std::size_t>(v);
}

}  // namespace

template <class T>
LayerNorm<T>::LayerNorm(std::vector<std::int64_t> normalized_shape, double eps, bool elementwise_affine, bool bias)
    : shape_(std::move(normalized_shape)), eps_(eps), affine_(elementwise_affine), bias_on_(bias) {
    const Shape s = shape_of("LayerNorm", shape_);
    if (affine_) {
        this->register_parameter("weight", &LayerNorm::weight_, ones<T>(s));
        if (bias_on_) this->register_parameter("bias", &LayerNorm::bias_, zeros<T>(s));
    }
}

template <class T>
Tensor<T> LayerNorm<T>::forward(const Tensor<T>& x) {
    return layer_norm(x, shape_, weight_, bias_, eps_);
}

template <class T>
std::string LayerNorm<T>::extra_repr() const {
    return fmt::format("{}, eps={}, elementwise_affine={}", tuple_str(shape_), eps_, py_bool(affine_));
}

template <class T>
std::shared_ptr<Module<double>> LayerNorm<T>::to_float64() const {
    return this->copy_state_to(std::make_shared<LayerNorm<double>>(shape_, eps_, affine_, bias_on_));
}

template <class T>
RMSNorm<T>::RMSNorm(std::vector<std::int64_t> normalized_shape, std::optional<double> eps, bool elementwise_affine)
    : shape_(std::move(normalized_shape)), eps_(eps), affine_(elementwise_affine) {
    const Shape s = shape_of("RMSNorm", shape_);
    if (affine_) this->register_parameter("weight", &RMSNorm::weight_, ones<T>(s));
}

template <class T>
Tensor<T> RMSNorm<T>::forward(const Tensor<T>& x) {
    return rms_norm(x, shape_, weight_, eps_);
}

template <class T>
std::string RMSNorm<T>::extra_repr() const {
    return fmt::format("{}, eps={}, elementwise_affine={}", tuple_str(shape_),
                       eps_ ? fmt::format("{}", *eps_) : std::string("None"), py_bool(affine_));
}

template <class T>
std::shared_ptr<Module<double>> RMSNorm<T>::to_float64() const {
    return this->copy_state_to(std::make_shared<RMSNorm<double>>(shape_, eps_, affine_));
}

template <class T>
GroupNorm<T>::GroupNorm(std::int64_t num_groups, std::int64_t num_channels, double eps, bool affine)
    : groups_(num_groups), channels_(num_channels), eps_(eps), affine_(affine) {
    const std::size_t g = positive("GroupNorm", "num_groups", num_groups);
    const std::size_t c = positive("GroupNorm", "num_channels", num_channels);
    if (c % g != 0) fail<ValueError>("GroupNorm: num_channels {} must be divisible by num_groups {}", c, g);
    if (affine_) {
        this->register_parameter("weight", &GroupNorm::weight_, ones<T>({c}));
        this->register_parameter("bias", &GroupNorm::bias_, zeros<T>({c}));
    }
}

template <class T>
Tensor<T> GroupNorm<T>::forward(const Tensor<T>& x) {
    return group_norm(x, groups_, weight_, bias_, eps_);
}

template <class T>
std::string GroupNorm<T>::extra_repr() const {
    return fmt::format("{}, {}, eps={}, affine={}", groups_, channels_, eps_, py_bool(affine_));
}

template <class T>
std::shared_ptr<Module<double>> GroupNorm<T>::to_float64() const {
    return this->copy_state_to(std::make_shared<GroupNorm<double>>(groups_, channels_, eps_, affine_));
}

template <class T>
BatchNorm<T>::BatchNorm(std::int64_t num_features, double eps, std::optional<double> momentum, bool affine,
                        bool track_running_stats, std::size_t min_rank, std::size_t max_rank)
    : features_(num_features),
      eps_(eps),
      momentum_(momentum),
      affine_(affine),
      track_(track_running_stats),
      min_rank_(min_rank),
      max_rank_(max_rank) {
    const std::size_t c = positive("BatchNorm", "num_features", num_features);
    if (affine_) {
        this->register_parameter("weight", &BatchNorm::weight_, ones<T>({c}));
        this->register_parameter("bias", &BatchNorm::bias_, zeros<T>({c}));
    }
    if (track_) {
        this->register_buffer("running_mean", &BatchNorm::running_mean_, zeros<T>({c}));
        this->register_buffer("running_var", &BatchNorm::running_var_, ones<T>({c}));
        this->register_buffer("num_batches_tracked", &BatchNorm::num_batches_, Tensor<T>(T(0)));
    }
}

template <class T>
Tensor<T> BatchNorm<T>::forward(const Tensor<T>& x) {
    if (!x.defined() || x.ndim() < min_rank_ || x.ndim() > max_rank_) {
        fail<ShapeError>("{}({}): input has shape {}; expected rank {}{}", this->name(), features_,
                         x.defined() ? shape_str(x.shape()) : "undefined", min_rank_,
                         max_rank_ > min_rank_ ? fmt::format(" to {}", max_rank_) : "");
    }
    // PyTorch's _BatchNorm.forward: the step is counted and the factor chosen before the update.
    double factor = momentum_.value_or(0.0);
    const bool training = this->is_training();
    if (training && track_) {
        NoGradGuard no_grad;
        num_batches_.add_(T(1));
        if (!momentum_) factor = 1.0 / static_cast<double>(num_batches_.item());
    }
    return batch_norm(x, running_mean_, running_var_, weight_, bias_, training || !track_, factor, eps_);
}

template <class T>
std::string BatchNorm<T>::extra_repr() const {
    return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}", features_, eps_,
                       momentum_ ? fmt::format("{}", *momentum_) : std::string("None"), py_bool(affine_),
                       py_bool(track_));
}

template class LayerNorm<float>;
template class LayerNorm<double>;
template class RMSNorm<float>;
template class RMSNorm<double>;
template class GroupNorm<float>;
template class GroupNorm<double>;
template class BatchNorm<float>;
template class BatchNorm<double>;

}  // namespace tapegrad::nn
