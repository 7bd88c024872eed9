#include <tapegrad/nn/conv.hpp>

#include <cmath>
#include <initializer_list>

#include <fmt/format.h>

#include <tapegrad/autograd/factories.hpp>
#include <tapegrad/nn/init.hpp>

namespace tapegrad::nn {

namespace {

/// The weight's shape [a, b, kernel...]; ValueError naming the layer for a kernel size below 1.
Shape weight_shape(const char* layer, std::size_t a, std::size_t b, std::initializer_list<std::int64_t> kernel) {
    Shape shape{a, b};
    for (const std::int64_t k : kernel) {
        if (k < 1) fail<ValueError>("{}: kernel_size {}; expected every size >= 1", layer, fmt::join(kernel, ", "));
        shape.push_back(static_cast<std::size_t>(k));
    }
    return shape;
}

/// PyTorch's tuple repr: "(3, 3)", or "(3,)" for one element.
std::string tuple(Size2 v) {
    return fmt::format("({}, {})", v.h, v.w);
}
std::string tuple(std::int64_t v) {
    return fmt::format("({},)", v);
}

/// PyTorch's "padding=..." part: the tuple, or the string ('same', 'valid'), left out when zero.
template <class P>
std::string padding_repr(const P& padding, bool zero, const std::string& size) {
    if (padding.mode) return fmt::format(", padding={}", *padding.mode == Padding::Same ? "same" : "valid");
    return zero ? "" : ", padding=" + size;
}

/// ValueError naming the layer for padding 'same' with a stride above 1 (PyTorch refuses it at construction).
void check_same(const char* layer, bool same, bool unit_stride) {
    if (same && !unit_stride) fail<ValueError>("{}: padding 'same' needs stride 1 (as PyTorch)", layer);
}

}  // namespace

template <class T>
ConvBase<T>::ConvBase(const char* layer, std::size_t in_channels, std::size_t out_channels, std::int64_t groups,
                      const std::string& padding_mode, const Shape& weight_shape, bool bias)
    : in_(in_channels), out_(out_channels), groups_(groups) {
    if (in_channels == 0 || out_channels == 0) {
        fail<ValueError>("{}: in_channels {} and out_channels {} must both be positive", layer, in_channels,
                         out_channels);
    }
    if (groups < 1 || in_channels % std::size_t(groups) != 0 || out_channels % std::size_t(groups) != 0) {
        fail<ValueError>("{}: groups {} must be positive and divide in_channels {} and out_channels {}", layer, groups,
                         in_channels, out_channels);
    }
    if (padding_mode != "zeros") {
        fail<ValueError>(
            "{}: padding_mode '{}' is not supported; only 'zeros' (pad the input with nn's pad first for "
            "'reflect')",
            layer, padding_mode);
    }
    this->register_parameter("weight", &ConvBase::weight_, zeros<T>(weight_shape));
    if (bias) this->register_parameter("bias", &ConvBase::bias_, zeros<T>({out_}));
}

template <class T>
void ConvBase<T>::reset_parameters(Generator& gen) {
    init::kaiming_uniform_(weight_, gen, std::sqrt(5.0));
    if (bias_.defined()) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(init::fan_in_and_fan_out(weight_.shape()).first));
        init::uniform_(bias_, gen, -bound, bound);
    }
}

template <class T>
std::string ConvBase<T>::repr_tail(const std::string& dilation, bool default_dilation,
                                   const std::string& output_padding, bool default_output_padding) const {
    std::string s;
    if (!default_dilation) s += ", dilation=" + dilation;
    if (!default_output_padding) s += ", output_padding=" + output_padding;
    if (groups_ != 1) s += fmt::format(", groups={}", groups_);
    if (!bias_.defined()) s += ", bias=False";
    return s;
}

template <class T>
Conv2d<T>::Conv2d(std::size_t in_channels, std::size_t out_channels, Size2 kernel_size, Generator& gen, Size2 stride,
                  ConvPadding2d padding, Size2 dilation, std::int64_t groups, bool bias,
                  const std::string& padding_mode)
    : ConvBase<T>("Conv2d", in_channels, out_channels, groups, padding_mode,
                  weight_shape("Conv2d", out_channels, groups > 0 ? in_channels / std::size_t(groups) : 0,
                               {kernel_size.h, kernel_size.w}),
                  bias),
      kernel_(kernel_size),
      stride_(stride),
      dilation_(dilation),
      padding_(padding) {
    check_same("Conv2d", padding.mode == Padding::Same, stride.h == 1 && stride.w == 1);
    this->reset_parameters(gen);
}

template <class T>
Tensor<T> Conv2d<T>::forward(const Tensor<T>& x) {
    return conv2d(x, this->weight_, this->bias_, stride_, padding_, dilation_, this->groups_);
}

template <class T>
std::string Conv2d<T>::extra_repr() const {
    const Size2 p = padding_.size;
    return fmt::format("{}, {}, kernel_size={}, stride={}", this->in_, this->out_, tuple(kernel_), tuple(stride_)) +
           padding_repr(padding_, p.h == 0 && p.w == 0, tuple(p)) +
           this->repr_tail(tuple(dilation_), dilation_.h == 1 && dilation_.w == 1, "", true);
}

template <class T>
std::shared_ptr<Module<double>> Conv2d<T>::to_float64() const {
    Generator unused(0);  // the constructor draws parameters that copy_state_to overwrites
    return this->copy_state_to(std::make_shared<Conv2d<double>>(
        this->in_, this->out_, kernel_, unused, stride_, padding_, dilation_, this->groups_, this->bias_.defined()));
}

template <class T>
Conv1d<T>::Conv1d(std::size_t in_channels, std::size_t out_channels, std::int64_t kernel_size, Generator& gen,
                  std::int64_t stride, ConvPadding1d padding, std::int64_t dilation, std::int64_t groups, bool bias,
                  const std::string& padding_mode)
    : ConvBase<T>(
          "Conv1d", in_channels, out_channels, groups, padding_mode,
          weight_shape("Conv1d", out_channels, groups > 0 ? in_channels / std::size_t(groups) : 0, {kernel_size}),
          bias),
      kernel_(kernel_size),
      stride_(stride),
      dilation_(dilation),
      padding_(padding) {
    check_same("Conv1d", padding.mode == Padding::Same, stride == 1);
    this->reset_parameters(gen);
}

template <class T>
Tensor<T> Conv1d<T>::forward(const Tensor<T>& x) {
    return conv1d(x, this->weight_, this->bias_, stride_, padding_, dilation_, this->groups_);
}

template <class T>
std::string Conv1d<T>::extra_repr() const {
    return fmt::format("{}, {}, kernel_size={}, stride={}", this->in_, this->out_, tuple(kernel_), tuple(stride_)) +
           padding_repr(padding_, padding_.size == 0, tuple(padding_.size)) +
           this->repr_tail(tuple(dilation_), dilation_ == 1, "", true);
}

template <class T>
std::shared_ptr<Module<double>> Conv1d<T>::to_float64() const {
    Generator unused(0);
    return this->copy_state_to(std::make_shared<Conv1d<double>>(
        this->in_, this->out_, kernel_, unused, stride_, padding_, dilation_, this->groups_, this->bias_.defined()));
}

template <class T>
ConvTranspose2d<T>::ConvTranspose2d(std::size_t in_channels, std::size_t out_channels, Size2 kernel_size,
                                    Generator& gen, Size2 stride, Size2 padding, Size2 output_padding,
                                    std::int64_t groups, bool bias, Size2 dilation, const std::string& padding_mode)
    : ConvBase<T>("ConvTranspose2d", in_channels, out_channels, groups, padding_mode,
                  weight_shape("ConvTranspose2d", in_channels, groups > 0 ? out_channels / std::size_t(groups) : 0,
                               {kernel_size.h, kernel_size.w}),
                  bias),
      kernel_(kernel_size),
      stride_(stride),
      padding_(padding),
      output_padding_(output_padding),
      dilation_(dilation) {
    const Size2 op = output_padding;
    if ((op.h >= stride.h && op.h >= dilation.h) || (op.w >= stride.w && op.w >= dilation.w)) {
        fail<ValueError>("ConvTranspose2d: output_padding {} must be smaller than either stride {} or dilation {}",
                         tuple(op), tuple(stride), tuple(dilation));
    }
    this->reset_parameters(gen);
}

template <class T>
Tensor<T> ConvTranspose2d<T>::forward(const Tensor<T>& x) {
    return conv_transpose2d(x, this->weight_, this->bias_, stride_, padding_, output_padding_, this->groups_,
                            dilation_);
}

template <class T>
std::string ConvTranspose2d<T>::extra_repr() const {
    const bool zero_padding = padding_.h == 0 && padding_.w == 0;
    return fmt::format("{}, {}, kernel_size={}, stride={}", this->in_, this->out_, tuple(kernel_), tuple(stride_)) +
           (zero_padding ? "" : ", padding=" + tuple(padding_)) +
           this->repr_tail(tuple(dilation_), dilation_.h == 1 && dilation_.w == 1, tuple(output_padding_),
                           output_padding_.h == 0 && output_padding_.w == 0);
}

template <class T>
std::shared_ptr<Module<double>> ConvTranspose2d<T>::to_float64() const {
    Generator unused(0);
    return this->copy_state_to(
        std::make_shared<ConvTranspose2d<double>>(this->in_, this->out_, kernel_, unused, stride_, padding_,
                                                  output_padding_, this->groups_, this->bias_.defined(), dilation_));
}

template class ConvBase<float>;
template class ConvBase<double>;
template class Conv2d<float>;
template class Conv2d<double>;
template class Conv1d<float>;
template class Conv1d<double>;
template class ConvTranspose2d<float>;
template class ConvTranspose2d<double>;

}  // namespace tapegrad::nn
