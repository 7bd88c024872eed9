#include <tapegrad/autograd/tensor.hpp>

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <ostream>
#include <span>
#include <sstream>
#include <vector>

#include <xtensor/xio.hpp>

#include <tapegrad/autograd/engine.hpp>
#include <tapegrad/autograd/node.hpp>

namespace tapegrad {

namespace {

template <class T>
std::shared_ptr<detail::TensorImpl<T>> make_impl(xt::xarray<T>&& value, bool requires_grad) {
    // From the small pool: a tensor's shared state costs no malloc once a step has run.
    return std::allocate_shared<detail::TensorImpl<T>>(detail::PoolAllocator<detail::TensorImpl<T>>{}, std::move(value),
                                                       requires_grad);
}

// A 0-d array from the buffer pool (xarray's own scalar constructor would malloc its element).
template <class T>
xt::xarray<T> scalar_array(T scalar) {
    xt::xarray<T> out = detail::take_buffer<T>("Tensor", Shape{});
    out() = scalar;
    return out;
}

// The length of every list at each nesting depth (lengths[d] for depth d); a number ends a branch.
template <class T>
void row_lengths(const T&, std::vector<std::vector<std::size_t>>&, std::size_t) {}
template <class L>
void row_lengths(std::initializer_list<L> list, std::vector<std::vector<std::size_t>>& lengths, std::size_t depth) {
    if (lengths.size() <= depth) lengths.resize(depth + 1);
    lengths[depth].push_back(list.size());
    for (const auto& sub : list) row_lengths(sub, lengths, depth + 1);
}

/// xtensor sizes nested braces by their first row at each depth, so {{1, 2}, {3}} would make a
/// 2 x 2 array with an uninitialised fourth element: every row at a depth must have one length.
template <class T, class L>
xt::xarray<T> rectangular(std::initializer_list<L> values) {
    std::vector<std::vector<std::size_t>> lengths;
    row_lengths(values, lengths, 0);
    for (std::size_t d = 1; d < lengths.size(); ++d) {
        const auto& at = lengths[d];
        if (std::adjacent_find(at.begin(), at.end(), std::not_equal_to<>()) != at.end()) {
            fail<ShapeError>(
                "Tensor: ragged nested braces: the lists at depth {} have lengths [{}]; every list at "
                "one depth must have the same length",
                d, fmt::join(at, ", "));
        }
    }
    return xt::xarray<T>(values);
}

}  // namespace

template <class T>
Tensor<T>::Tensor(array_type value, bool requires_grad) : impl_(make_impl<T>(std::move(value), requires_grad)) {}

template <class T>
Tensor<T>::Tensor(T scalar, bool requires_grad) : Tensor(scalar_array(scalar), requires_grad) {}

template <class T>
Tensor<T>::Tensor(xt::nested_initializer_list_t<T, 1> values) : Tensor(rectangular<T>(values)) {}
template <class T>
Tensor<T>::Tensor(xt::nested_initializer_list_t<T, 2> values) : Tensor(rectangular<T>(values)) {}
template <class T>
Tensor<T>::Tensor(xt::nested_initializer_list_t<T, 3> values) : Tensor(rectangular<T>(values)) {}
template <class T>
Tensor<T>::Tensor(xt::nested_initializer_list_t<T, 4> values) : Tensor(rectangular<T>(values)) {}

template <class T>
detail::TensorImpl<T>& Tensor<T>::checked(const char* what) const {
    if (!impl_)
        fail<ValueError>("Tensor::{}: the tensor is undefined (default-constructed or a missing gradient)", what);
    return *impl_;
}

template <class T>
const typename Tensor<T>::array_type& Tensor<T>::value() const {
    return checked("value").value;
}

template <class T>
typename Tensor<T>::array_type& Tensor<T>::mutable_value() {
    auto& impl = checked("mutable_value");
    ++impl.version;
    return impl.value;
}

template <class T>
std::uint64_t Tensor<T>::version() const {
    return checked("version").version;
}

template <class T>
const Shape& Tensor<T>::shape() const {
    return checked("shape").value.shape();
}

template <class T>
std::size_t Tensor<T>::numel() const {
    return checked("numel").value.size();
}

template <class T>
T Tensor<T>::item() const {
    const auto& v = checked("item").value;
    if (v.size() != 1)
        fail<ValueError>("item: the tensor has shape {} ({} elements); item needs exactly one", shape_str(shape()),
                         v.size());
    return v.data()[0];
}

template <class T>
bool Tensor<T>::requires_grad() const {
    return impl_ && impl_->requires_grad;
}

template <class T>
Tensor<T>& Tensor<T>::requires_grad_(bool on) {
    auto& impl = checked("requires_grad_");
    if (impl.grad_fn) {
        fail<AutogradError>(
            "requires_grad_: only leaves can change requires_grad; this tensor was made by '{}' (use detach())",
            impl.grad_fn->name());
    }
    impl.requires_grad = on;
    return *this;
}

template <class T>
bool Tensor<T>::is_leaf() const {
    return !checked("is_leaf").grad_fn;
}

template <class T>
std::string Tensor<T>::grad_fn_name() const {
    const auto& impl = checked("grad_fn_name");
    return impl.grad_fn ? impl.grad_fn->name() : "";
}

template <class T>
const Tensor<T>& Tensor<T>::grad() const {
    return checked("grad").grad;
}

template <class T>
Tensor<T>& Tensor<T>::mutable_grad() {
    return checked("mutable_grad").grad;
}

template <class T>
void Tensor<T>::zero_grad() {
    checked("zero_grad").grad = Tensor<T>();
}

template <class T>
Tensor<T>& Tensor<T>::retain_grad() {
    checked("retain_grad").retains_grad = true;
    return *this;
}

template <class T>
Tensor<T> Tensor<T>::detach() const {
    return Tensor<T>(array_type(checked("detach").value));
}

template <class T>
template <class U>
Tensor<U> Tensor<T>::to(bool requires_grad) const {
    return Tensor<U>(xt::xarray<U>(xt::cast<U>(checked("to").value)), requires_grad);
}

template <class T>
void Tensor<T>::backward(const Tensor& seed, std::optional<bool> retain_graph, bool create_graph) const {
    detail::run_backward<T>(std::span<const Tensor>(this, 1), std::span<const Tensor>(&seed, 1), retain_graph,
                            create_graph);
}

template <class T>
std::string Tensor<T>::to_string() const {
    if (!impl_) return "Tensor(undefined)";
    std::ostringstream os;
    os << "Tensor(" << dtype_name<T>() << ", shape=" << shape_str(impl_->value.shape());
    if (impl_->grad_fn) {
        os << ", grad_fn=" << impl_->grad_fn->name();
    } else if (impl_->requires_grad) {
        os << ", requires_grad";
    }
    os << ")\n" << impl_->value;
    return os.str();
}

template <class T>
std::ostream& operator<<(std::ostream& os, const Tensor<T>& t) {
    return os << t.to_string();
}

template class Tensor<float>;
template class Tensor<double>;
template Tensor<double> Tensor<float>::to<double>(bool) const;
template Tensor<float> Tensor<float>::to<float>(bool) const;
template Tensor<float> Tensor<double>::to<float>(bool) const;
template Tensor<double> Tensor<double>::to<double>(bool) const;
template std::ostream& operator<<(std::ostream&, const Tensor<float>&);
template std::ostream& operator<<(std::ostream&, const Tensor<double>&);

}  // namespace tapegrad
