#include <tapegrad/nn/pooling.hpp>

#include <fmt/format.h>

namespace tapegrad::nn {

namespace {

/// A size as PyTorch's repr prints it: the int when both dims agree (what a user passes as one
/// int), else the tuple "(3, 2)". Differs from PyTorch only for a tuple of equal values, which
/// PyTorch prints as the tuple it was given.
std::string size_repr(Size2 s) {
    return s.h == s.w ? fmt::format("{}", s.h) : fmt::format("({}, {})", s.h, s.w);
}

const char* py_bool(bool b) {
    return b ? "True" : "False";
}

}  // namespace

template <class T>
Tensor<T> MaxPool2d<T>::forward(const Tensor<T>& x) {
    return max_pool2d(x, kernel_, stride_, padding_, dilation_, ceil_mode_);
}

template <class T>
std::string MaxPool2d<T>::extra_repr() const {
    return fmt::format("kernel_size={}, stride={}, padding={}, dilation={}, ceil_mode={}", size_repr(kernel_),
                       size_repr(stride_), size_repr(padding_), size_repr(dilation_), py_bool(ceil_mode_));
}

template <class T>
std::shared_ptr<Module<double>> MaxPool2d<T>::to_float64() const {
    return this->copy_state_to(std::make_shared<MaxPool2d<double>>(kernel_, stride_, padding_, dilation_, ceil_mode_));
}

template <class T>
Tensor<T> MaxPool1d<T>::forward(const Tensor<T>& x) {
    return max_pool1d(x, kernel_, stride_, padding_, dilation_, ceil_mode_);
}

template <class T>
std::string MaxPool1d<T>::extra_repr() const {
    return fmt::format("kernel_size={}, stride={}, padding={}, dilation={}, ceil_mode={}", kernel_, stride_, padding_,
                       dilation_, py_bool(ceil_mode_));
}

template <class T>
std::shared_ptr<Module<double>> MaxPool1d<T>::to_float64() const {
    return this->copy_state_to(std::make_shared<MaxPool1d<double>>(kernel_, stride_, padding_, dilation_, ceil_mode_));
}

template <class T>
Tensor<T> AvgPool2d<T>::forward(const Tensor<T>& x) {
    return avg_pool2d(x, kernel_, stride_, padding_, ceil_mode_, count_include_pad_, divisor_);
}

template <class T>
std::string AvgPool2d<T>::extra_repr() const {
    return fmt::format("kernel_size={}, stride={}, padding={}", size_repr(kernel_), size_repr(stride_),
                       size_repr(padding_));
}

template <class T>
std::shared_ptr<Module<double>> AvgPool2d<T>::to_float64() const {
    return this->copy_state_to(
        std::make_shared<AvgPool2d<double>>(kernel_, stride_, padding_, ceil_mode_, count_include_pad_, divisor_));
}

template <class T>
Tensor<T> AvgPool1d<T>::forward(const Tensor<T>& x) {
    return avg_pool1d(x, kernel_, stride_, padding_, ceil_mode_, count_include_pad_);
}

template <class T>
std::string AvgPool1d<T>::extra_repr() const {
    return fmt::format("kernel_size=({},), stride=({},), padding=({},)", kernel_, stride_, padding_);
}

template <class T>
std::shared_ptr<Module<double>> AvgPool1d<T>::to_float64() const {
    return this->copy_state_to(
        std::make_shared<AvgPool1d<double>>(kernel_, stride_, padding_, ceil_mode_, count_include_pad_));
}

template <class T>
Tensor<T> AdaptiveAvgPool2d<T>::forward(const Tensor<T>& x) {
    return adaptive_avg_pool2d(x, size_);
}

template <class T>
std::string AdaptiveAvgPool2d<T>::extra_repr() const {
    return fmt::format("output_size={}", size_repr(size_));
}

template <class T>
std::shared_ptr<Module<double>> AdaptiveAvgPool2d<T>::to_float64() const {
    return this->copy_state_to(std::make_shared<AdaptiveAvgPool2d<double>>(size_));
}

template class MaxPool2d<float>;
template class MaxPool2d<double>;
template class MaxPool1d<float>;
template class MaxPool1d<double>;
template class AvgPool2d<float>;
template class AvgPool2d<double>;
template class AvgPool1d<float>;
template class AvgPool1d<double>;
template class AdaptiveAvgPool2d<float>;
template class AdaptiveAvgPool2d<double>;

}  // namespace tapegrad::nn
