#include <tapegrad/autograd/tensor.hpp>

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <ostream>
#include <span>
#include <sstream>
#include <vector>

#include <xtensor/xbroadcast.hpp>
#include <xtensor/xio.hpp>
#include <xtensor/xnoalias.hpp>

#include <tapegrad/autograd/engine.hpp>
#include <tapegrad/autograd/forward_ad.hpp>
#include <tapegrad/autograd/nested_braces.hpp>
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

}  // namespace

template <class T>
Tensor<T>::Tensor(array_type value, bool requires_grad) : impl_(make_impl<T>(std::move(value), requires_grad)) {}

template <class T>
Tensor<T>::Tensor(T scalar, bool requires_grad) : Tensor(scalar_array(scalar), requires_grad) {}

template <class T>
Tensor<T>::Tensor(xt::nested_initializer_list_t<T, 1> values) : Tensor(detail::rectangular<T>("Tensor", values)) {}
template <class T>
Tensor<T>::Tensor(xt::nested_initializer_list_t<T, 2> values) : Tensor(detail::rectangular<T>("Tensor", values)) {}
template <class T>
Tensor<T>::Tensor(xt::nested_initializer_list_t<T, 3> values) : Tensor(detail::rectangular<T>("Tensor", values)) {}
template <class T>
Tensor<T>::Tensor(xt::nested_initializer_list_t<T, 4> values) : Tensor(detail::rectangular<T>("Tensor", values)) {}

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
template <class F>
Tensor<T>& Tensor<T>::update(const char* op, const Tensor* other, F f) {
    auto& impl = checked(op);
    if (other && !other->defined()) fail<ValueError>("{}: other is undefined", op);
    if (is_grad_enabled()) {
        if (impl.requires_grad && !impl.grad_fn) {
            fail<AutogradError>(
                "{}: this leaf (shape {}) requires grad and cannot be changed in place while grad mode is on "
                "(wrap the update in NoGradGuard, as optimisers do)",
                op, shape_str(shape()));
        }
        if (impl.requires_grad) {
            fail<AutogradError>(
                "{}: this tensor (shape {}) is the output of '{}' and requires grad; tapegrad does not record "
                "in-place ops (PyTorch would rewrite its history): use the out-of-place op, or NoGradGuard",
                op, shape_str(shape()), impl.grad_fn->name());
        }
        if (other && other->requires_grad()) {
            fail<AutogradError>(
                "{}: other (shape {}) requires grad, and an in-place op is not recorded, so no gradient "
                "could reach it: use the out-of-place op, or NoGradGuard",
                op, shape_str(other->shape()));
        }
    }
    // Forward mode cannot follow an unrecorded change: the tangent would silently be stale.
    if (detail::dual_level_open()) {
        const auto* other_impl = other ? detail::TensorAccess::impl(*other) : nullptr;
        if (detail::has_open_tangent(impl) || (other_impl && detail::has_open_tangent(*other_impl))) {
            fail<AutogradError>(
                "{}: this tensor (shape {}) or its operand has a forward-mode tangent at the open dual "
                "level; an in-place update would leave the tangent stale: use the out-of-place op",
                op, shape_str(shape()));
        }
    }
    if (other && !broadcastable_to(other->shape(), shape())) {
        fail<ShapeError>(
            "{}: other has shape {}, which does not broadcast to this tensor's shape {} (an in-place "
            "result keeps its shape)",
            op, shape_str(other->shape()), shape_str(shape()));
    }
    ++impl.version;
    f(impl.value, other ? &other->value() : nullptr);
    return *this;
}

namespace {

// v = op(v, o) elementwise, o broadcast to v's shape: a plain loop for the same shape or one
// element (also when o is v itself: each element is read before it is written), xtensor otherwise.
template <class T, class Op>
void apply_inplace(xt::xarray<T>& v, const xt::xarray<T>& o, Op op) {
    T* p = v.data();
    const std::size_t n = v.size();
    if (o.shape() == v.shape()) {
        const T* q = o.data();
        for (std::size_t i = 0; i < n; ++i) p[i] = op(p[i], q[i]);
    } else if (o.size() == 1) {
        const T q = o.data()[0];
        for (std::size_t i = 0; i < n; ++i) p[i] = op(p[i], q);
    } else {
        xt::noalias(v) = op(v, xt::broadcast(o, v.shape()));
    }
}

template <class T, class Op>
void apply_scalar(xt::xarray<T>& v, Op op) {
    for (auto& x : v) x = op(x);
}

}  // namespace

template <class T>
Tensor<T>& Tensor<T>::add_(const Tensor& other, T alpha) {
    return update("add_", &other, [alpha](xt::xarray<T>& v, const xt::xarray<T>* o) {
        apply_inplace(v, *o, [alpha](const auto& a, const auto& b) { return a + alpha * b; });
    });
}

template <class T>
Tensor<T>& Tensor<T>::add_(T scalar) {
    return update("add_", nullptr, [scalar](xt::xarray<T>& v, const xt::xarray<T>*) {
        apply_scalar(v, [scalar](T x) { return x + scalar; });
    });
}

template <class T>
Tensor<T>& Tensor<T>::sub_(const Tensor& other, T alpha) {
    return update("sub_", &other, [alpha](xt::xarray<T>& v, const xt::xarray<T>* o) {
        apply_inplace(v, *o, [alpha](const auto& a, const auto& b) { return a - alpha * b; });
    });
}

template <class T>
Tensor<T>& Tensor<T>::sub_(T scalar) {
    return update("sub_", nullptr, [scalar](xt::xarray<T>& v, const xt::xarray<T>*) {
        apply_scalar(v, [scalar](T x) { return x - scalar; });
    });
}

template <class T>
Tensor<T>& Tensor<T>::mul_(const Tensor& other) {
    return update("mul_", &other, [](xt::xarray<T>& v, const xt::xarray<T>* o) {
        apply_inplace(v, *o, [](const auto& a, const auto& b) { return a * b; });
    });
}

template <class T>
Tensor<T>& Tensor<T>::mul_(T scalar) {
    return update("mul_", nullptr, [scalar](xt::xarray<T>& v, const xt::xarray<T>*) {
        apply_scalar(v, [scalar](T x) { return x * scalar; });
    });
}

template <class T>
Tensor<T>& Tensor<T>::div_(const Tensor& other) {
    return update("div_", &other, [](xt::xarray<T>& v, const xt::xarray<T>* o) {
        apply_inplace(v, *o, [](const auto& a, const auto& b) { return a / b; });
    });
}

template <class T>
Tensor<T>& Tensor<T>::div_(T scalar) {
    return update("div_", nullptr, [scalar](xt::xarray<T>& v, const xt::xarray<T>*) {
        apply_scalar(v, [scalar](T x) { return x / scalar; });
    });
}

template <class T>
Tensor<T>& Tensor<T>::clamp_(T low, T high) {
    if (low > high) fail<ValueError>("clamp_: low {} is greater than high {}", low, high);
    return update("clamp_", nullptr, [low, high](xt::xarray<T>& v, const xt::xarray<T>*) {
        apply_scalar(v, [low, high](T x) { return x < low ? low : x > high ? high : x; });  // NaN stays NaN
    });
}

template <class T>
Tensor<T>& Tensor<T>::zero_() {
    return fill_(T(0));
}

template <class T>
Tensor<T>& Tensor<T>::fill_(T value) {
    return update("fill_", nullptr, [value](xt::xarray<T>& v, const xt::xarray<T>*) { v.fill(value); });
}

template <class T>
Tensor<T>& Tensor<T>::copy_(const Tensor& src) {
    return update("copy_", &src, [](xt::xarray<T>& v, const xt::xarray<T>* o) {
        apply_inplace(v, *o, [](const auto&, const auto& b) { return b; });
    });
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
HookHandle Tensor<T>::register_hook(std::function<Tensor(const Tensor& grad)> hook) {
    auto& impl = checked("register_hook");
    if (!hook) fail<ValueError>("register_hook: the hook is an empty std::function");
    if (!impl.requires_grad) {
        fail<AutogradError>(
            "register_hook: this tensor (shape {}) does not require grad, so no gradient would reach the hook",
            shape_str(shape()));
    }
    auto& hooks = impl.grad_fn ? impl.grad_fn->hooks() : impl.hooks;
    if (!hooks) hooks = std::make_shared<detail::TensorHooks<T>>();
    const auto id = hooks->grad.add(std::move(hook));
    return HookHandle(hooks, &detail::TensorHooks<T>::remove_grad, id);
}

template <class T>
HookHandle Tensor<T>::register_post_accumulate_grad_hook(std::function<void(Tensor& leaf)> hook) {
    auto& impl = checked("register_post_accumulate_grad_hook");
    if (!hook) fail<ValueError>("register_post_accumulate_grad_hook: the hook is an empty std::function");
    if (impl.grad_fn) {
        fail<AutogradError>(
            "register_post_accumulate_grad_hook: this tensor (shape {}) is the output of '{}'; only leaves "
            "accumulate a .grad() (use register_hook)",
            shape_str(shape()), impl.grad_fn->name());
    }
    if (!impl.requires_grad) {
        fail<AutogradError>(
            "register_post_accumulate_grad_hook: this leaf (shape {}) does not require grad, so it never gets a "
            ".grad()",
            shape_str(shape()));
    }
    if (!impl.hooks) impl.hooks = std::make_shared<detail::TensorHooks<T>>();
    const auto id = impl.hooks->post.add(std::move(hook));
    ++detail::post_accumulate_hook_count();
    return HookHandle(impl.hooks, &detail::TensorHooks<T>::remove_post, id);
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
