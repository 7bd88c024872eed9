#include <tapegrad/ops/dropout.hpp>

#include <tapegrad/autograd/buffer_pool.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/check.hpp>

namespace tapegrad {

namespace {

void check_p(const char* op, double p) {
    if (!(p >= 0.0 && p <= 1.0)) fail<ValueError>("{}: p is {}; a dropout probability must be in [0, 1]", op, p);
}

/// x times a mask of `mask_shape` (x's, or x's with the dims after the channel dim set to 1, which
/// mul broadcasts): entry k is 1 / (1 - p) when the k-th uniform() of gen is >= p, else 0. The
/// cases that draw nothing (not training, p = 0, p = 1) are settled here too.
template <class T>
Tensor<T> masked(const char* op, const Tensor<T>& x, const Shape& mask_shape, double p, bool training, Generator& gen) {
    if (!training || p == 0.0) return x;
    if (p == 1.0) return x * T(0);
    xt::xarray<T> mask = detail::take_buffer<T>(op, mask_shape);
    const T scale = static_cast<T>(1.0 / (1.0 - p));
    for (T& m : mask) m = gen.uniform() >= p ? scale : T(0);
    return mul(x, Tensor<T>(std::move(mask)));
}

/// x's shape with every dim after the first `kept` set to 1: one mask entry per channel.
Shape channel_shape(const Shape& x, std::size_t kept) {
    Shape shape = x;
    for (std::size_t d = kept; d < shape.size(); ++d) shape[d] = 1;
    return shape;
}

}  // namespace

template <class T>
Tensor<T> dropout(const Tensor<T>& x, double p, bool training, Generator& gen) {
    check_defined("dropout", "x", x);
    check_p("dropout", p);
    return masked("dropout", x, x.shape(), p, training, gen);
}

template <class T>
Tensor<T> dropout(const Tensor<T>& x, double p, bool training) {
    return with_default_generator([&](Generator& gen) { return dropout(x, p, training, gen); });
}

template <class T>
Tensor<T> dropout2d(const Tensor<T>& x, double p, bool training, Generator& gen) {
    check_defined("dropout2d", "x", x);
    check_p("dropout2d", p);
    if (x.ndim() != 3 && x.ndim() != 4) {
        fail<ShapeError>("dropout2d: x has shape {}; expected [N, C, H, W] (or [N, C, L]); use dropout for other ranks",
                         shape_str(x.shape()));
    }
    return masked("dropout2d", x, channel_shape(x.shape(), 2), p, training, gen);
}

template <class T>
Tensor<T> dropout2d(const Tensor<T>& x, double p, bool training) {
    return with_default_generator([&](Generator& gen) { return dropout2d(x, p, training, gen); });
}

template <class T>
Tensor<T> dropout1d(const Tensor<T>& x, double p, bool training, Generator& gen) {
    check_defined("dropout1d", "x", x);
    check_p("dropout1d", p);
    if (x.ndim() != 2 && x.ndim() != 3) {
        fail<ShapeError>("dropout1d: x has shape {}; expected [N, C, L] or an unbatched [C, L]", shape_str(x.shape()));
    }
    return masked("dropout1d", x, channel_shape(x.shape(), x.ndim() - 1), p, training, gen);
}

template <class T>
Tensor<T> dropout1d(const Tensor<T>& x, double p, bool training) {
    return with_default_generator([&](Generator& gen) { return dropout1d(x, p, training, gen); });
}

#define TAPEGRAD_INSTANTIATE(T)                                               \
    template Tensor<T> dropout(const Tensor<T>&, double, bool, Generator&);   \
    template Tensor<T> dropout(const Tensor<T>&, double, bool);               \
    template Tensor<T> dropout2d(const Tensor<T>&, double, bool, Generator&); \
    template Tensor<T> dropout2d(const Tensor<T>&, double, bool);             \
    template Tensor<T> dropout1d(const Tensor<T>&, double, bool, Generator&); \
    template Tensor<T> dropout1d(const Tensor<T>&, double, bool);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
