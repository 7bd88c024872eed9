#include <tapegrad/autograd/plain_tensor.hpp>

#include <algorithm>
#include <ostream>
#include <sstream>

#include <xtensor/xio.hpp>

#include <tapegrad/autograd/nested_braces.hpp>

namespace tapegrad {

namespace {

template <class E>
constexpr const char* type_name() {
    return std::is_same_v<E, bool> ? "Mask" : "Indices";
}

}  // namespace

template <class E>
PlainTensor<E>::PlainTensor(const std::vector<E>& values) : value_(array_type::from_shape({values.size()})) {
    std::copy(values.begin(), values.end(), value_.data());
}

template <class E>
PlainTensor<E>::PlainTensor(xt::nested_initializer_list_t<E, 1> values)
    : value_(detail::rectangular<E>(type_name<E>(), values)) {}
template <class E>
PlainTensor<E>::PlainTensor(xt::nested_initializer_list_t<E, 2> values)
    : value_(detail::rectangular<E>(type_name<E>(), values)) {}
template <class E>
PlainTensor<E>::PlainTensor(xt::nested_initializer_list_t<E, 3> values)
    : value_(detail::rectangular<E>(type_name<E>(), values)) {}

template <class E>
PlainTensor<E> PlainTensor<E>::full(const Shape& shape, E value) {
    array_type out = array_type::from_shape(shape);
    out.fill(value);
    return PlainTensor(std::move(out));
}

template <class E>
E PlainTensor<E>::item() const {
    if (value_.size() != 1)
        fail<ValueError>("{}::item: the array has shape {} ({} elements); item() needs exactly one", type_name<E>(),
                         shape_str(shape()), value_.size());
    return value_.data()[0];
}

template <class E>
template <Scalar T>
Tensor<T> PlainTensor<E>::to(bool requires_grad) const {
    xt::xarray<T> out = detail::take_buffer<T>("to", shape());
    std::transform(begin(), end(), out.data(), [](E v) { return static_cast<T>(v); });
    return Tensor<T>(std::move(out), requires_grad);
}

template <class E>
std::string PlainTensor<E>::to_string() const {
    std::ostringstream os;
    os << type_name<E>() << '(' << (std::is_same_v<E, bool> ? "bool" : "int64") << ", shape=" << shape_str(shape())
       << ")\n"
       << std::boolalpha << value_;
    return os.str();
}

template <class E>
std::ostream& operator<<(std::ostream& os, const PlainTensor<E>& t) {
    return os << t.to_string();
}

namespace detail {

void index_out_of_range(const char* op, const char* arg, std::size_t dim, std::int64_t index, std::size_t size) {
    const auto n = static_cast<std::int64_t>(size);
    if (n == 0)
        fail<IndexError>("{}: index {} is out of range for dim {} of {}, of size 0 (it has no elements to index)", op,
                         index, dim, arg);
    fail<IndexError>("{}: index {} is out of range for dim {} of {}, of size {} (expected {}..{})", op, index, dim, arg,
                     size, -n, n - 1);
}

}  // namespace detail

template class PlainTensor<std::int64_t>;
template class PlainTensor<bool>;
template Tensor<float> PlainTensor<std::int64_t>::to<float>(bool) const;
template Tensor<double> PlainTensor<std::int64_t>::to<double>(bool) const;
template Tensor<float> PlainTensor<bool>::to<float>(bool) const;
template Tensor<double> PlainTensor<bool>::to<double>(bool) const;
template std::ostream& operator<<(std::ostream&, const PlainTensor<std::int64_t>&);
template std::ostream& operator<<(std::ostream&, const PlainTensor<bool>&);

}  // namespace tapegrad
