#include <tapegrad/nn/dense.hpp>

#include <cmath>

#include <fmt/format.h>

#include <tapegrad/autograd/factories.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/ops/matmul.hpp>

namespace tapegrad::nn {

template <class T>
Dense<T>::Dense(std::size_t in_features, std::size_t out_features, Generator& gen, bool bias)
    : in_(in_features), out_(out_features) {
    if (in_features == 0 || out_features == 0) {
        fail<ValueError>("Dense: in_features {} and out_features {} must both be positive", in_features, out_features);
    }
    this->register_parameter("weight", &Dense::weight_, zeros<T>({out_, in_}));
    if (bias) this->register_parameter("bias", &Dense::bias_, zeros<T>({out_}));
    reset_parameters(gen);
}

template <class T>
Dense<T>::Dense(Tensor<T> weight, Generator& gen, bool bias) {
    if (!weight.defined() || weight.ndim() != 2 || weight.numel() == 0) {
        fail<ShapeError>("Dense: a shared weight has shape {}; expected [out_features, in_features], both positive",
                         weight.defined() ? shape_str(weight.shape()) : "undefined");
    }
    if (!weight.is_leaf()) {
        fail<ValueError>("Dense: a shared weight was made by '{}'; only a leaf can be a parameter",
                         weight.grad_fn_name());
    }
    out_ = weight.shape()[0];
    in_ = weight.shape()[1];
    this->register_parameter("weight", &Dense::weight_, std::move(weight));
    if (bias) {
        this->register_parameter("bias", &Dense::bias_, zeros<T>({out_}));
        reset_bias(gen);
    }
}

template <class T>
void Dense<T>::reset_parameters(Generator& gen) {
    // PyTorch's Linear: kaiming_uniform(a = sqrt(5)) is U(-1/sqrt(in), 1/sqrt(in)); the bias
    // uses the same bound.
    init::kaiming_uniform_(weight_, gen, std::sqrt(5.0));
    if (has_bias()) reset_bias(gen);
}

template <class T>
void Dense<T>::reset_bias(Generator& gen) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_));
    init::uniform_(bias_, gen, -bound, bound);
}

template <class T>
Tensor<T> Dense<T>::forward(const Tensor<T>& x) {
    if (!x.defined() || x.ndim() == 0 || x.shape().back() != in_) {
        fail<ShapeError>("Dense({} -> {}): input has shape {}; expected [..., {}] (features last)", in_, out_,
                         x.defined() ? shape_str(x.shape()) : "undefined", in_);
    }
    return linear(x, weight_, bias_);
}

template <class T>
std::string Dense<T>::extra_repr() const {
    return fmt::format("{} -> {}, {}", in_, out_, has_bias() ? "bias" : "no bias");
}

template <class T>
std::shared_ptr<Module<double>> Dense<T>::to_float64() const {
    Generator unused(0);  // the constructor draws parameters that copy_state_to overwrites
    return this->copy_state_to(std::make_shared<Dense<double>>(in_, out_, unused, has_bias()));
}

template class Dense<float>;
template class Dense<double>;

}  // namespace tapegrad::nn
