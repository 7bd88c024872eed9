#include <tapegrad/autograd/broadcast.hpp>

#include <xtensor/xbroadcast.hpp>

#include <tapegrad/autograd/evaluate.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/autograd/reduce_kernel.hpp>

namespace tapegrad {

template <class T>
Tensor<T> broadcast_to(const Tensor<T>& x, const Shape& shape) {
    if (!broadcastable_to(x.shape(), shape)) {
        fail<ShapeError>("broadcast_to: x has shape {}, which does not broadcast to {}", shape_str(x.shape()),
                         shape_str(shape));
    }
    xt::xarray<T> out = detail::evaluate<T>("broadcast_to", xt::broadcast(x.value(), shape));
    return record<T>(
        "broadcast_to", {x}, std::move(out),
        [](const Backward<T>& ctx) -> Grads<T> { return {sum_to(ctx.grad(), ctx.input(0).shape())}; },
        [shape](const Forward<T>& ctx) { return broadcast_to(ctx.tangent(0), shape); });
}

template <class T>
Tensor<T> sum_to(const Tensor<T>& x, const Shape& shape) {
    const Shape& from = x.shape();
    if (!broadcastable_to(shape, from)) {
        fail<ShapeError>("sum_to: x has shape {}, which cannot be summed to {} (the target must broadcast to x)",
                         shape_str(from), shape_str(shape));
    }
    const std::size_t lead = from.size() - shape.size();
    DimMask reduced(from.size(), false);
    for (std::size_t i = 0; i < from.size(); ++i) reduced[i] = i < lead || (shape[i - lead] == 1 && from[i] != 1);
    xt::xarray<T> out = reduce_dims<T>("sum_to", x.value(), reduced, T(0), [](T acc, T v) { return acc + v; });
    out.reshape(shape);
    return record<T>(
        "sum_to", {x}, std::move(out),
        [](const Backward<T>& ctx) -> Grads<T> { return {broadcast_to(ctx.grad(), ctx.input(0).shape())}; },
        [shape](const Forward<T>& ctx) { return sum_to(ctx.tangent(0), shape); });
}

template Tensor<float> broadcast_to(const Tensor<float>&, const Shape&);
template Tensor<double> broadcast_to(const Tensor<double>&, const Shape&);
template Tensor<float> sum_to(const Tensor<float>&, const Shape&);
template Tensor<double> sum_to(const Tensor<double>&, const Shape&);

}  // namespace tapegrad
