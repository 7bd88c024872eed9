#include <tapegrad/nn/dropout.hpp>

#include <fmt/format.h>

#include <tapegrad/ops/dropout.hpp>

namespace tapegrad::nn {

namespace {

double checked(const char* who, double p) {
    if (!(p >= 0.0 && p <= 1.0)) fail<ValueError>("{}: p is {}; a dropout probability must be in [0, 1]", who, p);
    return p;
}

}  // namespace

template <class T>
DropoutBase<T>::DropoutBase(const char* who, double p, Generator& seeds) : p_(checked(who, p)), gen_(seeds.spawn()) {}

template <class T>
DropoutBase<T>::DropoutBase(const char* who, double p)
    : p_(checked(who, p)), gen_(with_default_generator([](Generator& gen) { return gen.spawn(); })) {}

template <class T>
std::string DropoutBase<T>::extra_repr() const {
    return fmt::format("p={}", p_);
}

template <class T>
Tensor<T> Dropout<T>::forward(const Tensor<T>& x) {
    return dropout(x, this->p(), this->is_training(), this->generator());
}

template <class T>
std::shared_ptr<Module<double>> Dropout<T>::to_float64() const {
    Generator unused(0);  // the twin's stream is then set to this one's state
    return this->twin(std::make_shared<Dropout<double>>(this->p(), unused));
}

template <class T>
Tensor<T> Dropout2d<T>::forward(const Tensor<T>& x) {
    return dropout2d(x, this->p(), this->is_training(), this->generator());
}

template <class T>
std::shared_ptr<Module<double>> Dropout2d<T>::to_float64() const {
    Generator unused(0);  // the twin's stream is then set to this one's state
    return this->twin(std::make_shared<Dropout2d<double>>(this->p(), unused));
}

template class DropoutBase<float>;
template class DropoutBase<double>;
template class Dropout<float>;
template class Dropout<double>;
template class Dropout2d<float>;
template class Dropout2d<double>;

}  // namespace tapegrad::nn
