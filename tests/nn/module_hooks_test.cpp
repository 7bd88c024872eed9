// Module hooks: forward pre-hooks, forward hooks and full backward hooks, fired through
// operator() (and so by containers), checked against closed forms computed with plain loops.
#include <catch2/catch.hpp>

#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>
#include "autograd/says.hpp"

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
using tg::TensorD;
using Array = xt::xarray<double>;

namespace {

bool close(const Array& a, const Array& b, double tol = 1e-10) {
    return a.shape() == b.shape() && xt::allclose(a, b, tol, tol);
}

// A Dense(in -> out) with the given weight and bias.
std::shared_ptr<nn::Dense<double>> dense(const Array& w, const Array& b) {
    tg::Generator gen(1);
    auto layer = std::make_shared<nn::Dense<double>>(w.shape()[1], w.shape()[0], gen);
    tg::NoGradGuard no_grad;
    auto weight = layer->weight();
    auto bias = layer->bias();
    weight.mutable_value() = w;
    bias.mutable_value() = b;
    return layer;
}

// x W^T + b with loops.
Array affine(const Array& x, const Array& w, const Array& b) {
    Array y = xt::zeros<double>({x.shape()[0], w.shape()[0]});
    for (std::size_t n = 0; n < x.shape()[0]; ++n)
        for (std::size_t o = 0; o < w.shape()[0]; ++o) {
            y(n, o) = b(o);
            for (std::size_t i = 0; i < w.shape()[1]; ++i) y(n, o) += x(n, i) * w(o, i);
        }
    return y;
}

// g W (the gradient with respect to a Dense layer's input) with loops.
Array back(const Array& g, const Array& w) {
    Array out = xt::zeros<double>({g.shape()[0], w.shape()[1]});
    for (std::size_t n = 0; n < g.shape()[0]; ++n)
        for (std::size_t i = 0; i < w.shape()[1]; ++i)
            for (std::size_t o = 0; o < w.shape()[0]; ++o) out(n, i) += g(n, o) * w(o, i);
    return out;
}

// g^T x (the gradient with respect to a Dense layer's weight) with loops.
Array weight_grad(const Array& g, const Array& x) {
    Array out = xt::zeros<double>({g.shape()[1], x.shape()[1]});
    for (std::size_t n = 0; n < g.shape()[0]; ++n)
        for (std::size_t o = 0; o < g.shape()[1]; ++o)
            for (std::size_t i = 0; i < x.shape()[1]; ++i) out(o, i) += g(n, o) * x(n, i);
    return out;
}

const Array kW1 = {{0.5, -1.0, 0.25}, {1.5, 0.5, -0.5}};  // 3 -> 2
const Array kB1 = {0.1, -0.2};
const Array kW2 = {{2.0, -1.0}, {0.5, 0.75}};  // 2 -> 2
const Array kB2 = {0.3, 0.0};
const Array kX = {{1.0, 2.0, -1.0}, {0.5, -0.5, 3.0}};
const Array kC = {{1.0, -2.0}, {0.5, 3.0}};  // loss = sum(y * c): dloss/dy = c

}  // namespace

TEST_CASE("module hooks: a forward pre-hook replaces the input, a forward hook the output", "[nn][hooks]") {
    auto layer = dense(kW1, kB1);
    std::vector<std::string> order;
    layer->register_forward_pre_hook([&](nn::Module<double>& m, const TensorD& x) {
        order.push_back("pre " + m.name());
        return x * 2.0;
    });
    layer->register_forward_pre_hook([&](nn::Module<double>&, const TensorD& x) {
        order.push_back("pre keep");
        CHECK(close(x.value(), 2.0 * kX));  // sees the first pre-hook's result
        return TensorD();
    });
    Array forward_saw;
    layer->register_forward_hook([&](nn::Module<double>&, const TensorD& x, const TensorD& y) {
        order.push_back("forward");
        forward_saw = x.value();
        return y + 1.0;
    });
    TensorD y = (*layer)(TensorD(kX));
    CHECK(order == std::vector<std::string>{"pre Dense", "pre keep", "forward"});
    CHECK(close(forward_saw, 2.0 * kX));
    CHECK(close(y.value(), affine(2.0 * kX, kW1, kB1) + 1.0));
    CHECK(close(layer->forward(TensorD(kX)).value(), affine(kX, kW1, kB1)));  // forward() skips the hooks
}

TEST_CASE("module hooks: Sequential calls its children through operator(), so their hooks fire", "[nn][hooks]") {
    auto first = dense(kW1, kB1);
    auto second = dense(kW2, kB2);
    nn::Sequential<double> net{first, std::make_shared<nn::Tanh<double>>(), second};
    int fired = 0;
    second->register_forward_hook([&](nn::Module<double>&, const TensorD& x, const TensorD&) {
        ++fired;
        CHECK(close(x.value(), xt::tanh(affine(kX, kW1, kB1))));
        return TensorD();
    });
    net(TensorD(kX));
    CHECK(fired == 1);
}

TEST_CASE("module hooks: a full backward hook gets grad_input and grad_output once per backward", "[nn][hooks]") {
    auto layer = dense(kW1, kB1);
    TensorD x(kX, /*requires_grad=*/true);
    int calls = 0;
    Array gi, go;
    auto handle = layer->register_full_backward_hook(
        [&](nn::Module<double>& m, const TensorD& grad_input, const TensorD& grad_output) {
            ++calls;
            CHECK(&m == layer.get());
            gi = grad_input.value();
            go = grad_output.value();
            return TensorD();
        });
    TensorD y = (*layer)(x);
    CHECK(y.grad_fn_name() == "BackwardHookFunction");
    TensorD loss = tg::sum(y * TensorD(kC));
    loss.backward({}, /*retain_graph=*/true);
    CHECK(calls == 1);
    CHECK(close(go, kC));
    CHECK(close(gi, back(kC, kW1)));
    CHECK(close(x.grad().value(), back(kC, kW1)));
    CHECK(close(layer->weight().grad().value(), weight_grad(kC, kX)));
    loss.backward();  // a second pass fires again
    CHECK(calls == 2);
    handle.remove();
    (*layer)(x);  // no hook left: no identity ops
    CHECK((*layer)(x).grad_fn_name() != "BackwardHookFunction");
}

TEST_CASE("module hooks: a replaced grad_input flows into the layers before it", "[nn][hooks]") {
    auto first = dense(kW1, kB1);
    auto second = dense(kW2, kB2);
    nn::Sequential<double> net{first, second};
    second->register_full_backward_hook(
        [](nn::Module<double>&, const TensorD& grad_input, const TensorD&) { return grad_input * 2.0; });
    tg::sum(net(TensorD(kX)) * TensorD(kC)).backward();
    // dloss/dh = c W2 (h = the first layer's output), doubled by the hook; dloss/dW1 = (dloss/dh)^T x.
    const Array dh = 2.0 * back(kC, kW2);
    CHECK(close(first->weight().grad().value(), weight_grad(dh, kX)));
    CHECK(close(second->weight().grad().value(), weight_grad(kC, affine(kX, kW1, kB1))));  // unchanged
}

TEST_CASE("module hooks: without an input that requires grad, the hook fires with grad_output only", "[nn][hooks]") {
    auto layer = dense(kW1, kB1);
    int calls = 0;
    SECTION("returning nothing") {
        layer->register_full_backward_hook(
            [&](nn::Module<double>&, const TensorD& grad_input, const TensorD& grad_output) {
                ++calls;
                CHECK_FALSE(grad_input.defined());
                CHECK(close(grad_output.value(), kC));
                return TensorD();
            });
        tg::sum((*layer)(TensorD(kX)) * TensorD(kC)).backward();
        CHECK(calls == 1);
        CHECK(close(layer->weight().grad().value(), weight_grad(kC, kX)));
    }
    SECTION("returning a grad_input is an error, and no .grad() changes") {
        layer->register_full_backward_hook(
            [](nn::Module<double>&, const TensorD&, const TensorD& grad_output) { return grad_output; });
        CHECK_THROWS_MATCHES(tg::sum((*layer)(TensorD(kX)) * TensorD(kC)).backward(), tg::AutogradError,
                             Says("Dense") && Says("does not require grad"));
        CHECK_FALSE(layer->weight().grad().defined());
        CHECK_FALSE(layer->bias().grad().defined());
    }
}

TEST_CASE("module hooks: a backward hook of the wrong shape or that throws changes no .grad()", "[nn][hooks]") {
    auto layer = dense(kW1, kB1);
    TensorD x(kX, /*requires_grad=*/true);
    SECTION("wrong shape") {
        layer->register_full_backward_hook(
            [](nn::Module<double>&, const TensorD&, const TensorD& grad_output) { return grad_output; });
        CHECK_THROWS_MATCHES(tg::sum((*layer)(x)*TensorD(kC)).backward(), tg::ShapeError,
                             Says("Dense") && Says("hook 1 of 1") && Says("[2, 2]") && Says("[2, 3]"));
    }
    SECTION("throws") {
        layer->register_full_backward_hook(
            [](nn::Module<double>&, const TensorD&, const TensorD&) -> TensorD { throw std::runtime_error("boom"); });
        CHECK_THROWS_MATCHES(tg::sum((*layer)(x)*TensorD(kC)).backward(), std::runtime_error, Says("boom"));
    }
    CHECK_FALSE(x.grad().defined());
    CHECK_FALSE(layer->weight().grad().defined());
    CHECK_FALSE(layer->bias().grad().defined());
}

TEST_CASE("module hooks: calls keep the backward hooks they were made with, and handles outlive modules",
          "[nn][hooks]") {
    auto layer = dense(kW1, kB1);
    TensorD x(kX, /*requires_grad=*/true);
    int calls = 0;
    auto handle = layer->register_full_backward_hook([&](nn::Module<double>&, const TensorD&, const TensorD&) {
        ++calls;
        return TensorD();
    });
    TensorD y = (*layer)(x);
    handle.remove();  // after the call: this call's backward still runs it, as in PyTorch
    handle.remove();
    tg::sum(y).backward();
    CHECK(calls == 1);
    tg::sum((*layer)(x)).backward();
    CHECK(calls == 1);

    tg::HookHandle orphan;
    {
        auto gone = dense(kW1, kB1);
        orphan =
            gone->register_forward_hook([](nn::Module<double>&, const TensorD&, const TensorD&) { return TensorD(); });
    }
    orphan.remove();  // a no-op: the module is gone
}

TEST_CASE("module hooks: a module called twice fires its backward hook once per call", "[nn][hooks]") {
    auto layer = dense(kW2, kB2);
    nn::Sequential<double> net{layer, layer};
    std::vector<Array> outputs;
    layer->register_full_backward_hook([&](nn::Module<double>&, const TensorD&, const TensorD& grad_output) {
        outputs.push_back(grad_output.value());
        return TensorD();
    });
    TensorD x(Array{{1.0, -1.0}}, /*requires_grad=*/true);
    tg::sum(net(x) * TensorD(Array{{1.0, 2.0}})).backward();
    REQUIRE(outputs.size() == 2);
    CHECK(close(outputs[0], Array{{1.0, 2.0}}));             // the second call's, walked first
    CHECK(close(outputs[1], back(Array{{1.0, 2.0}}, kW2)));  // the first call's: through the second
}

TEST_CASE("module hooks: copies share hooks, and no grad mode sets up no backward hook", "[nn][hooks]") {
    auto layer = dense(kW1, kB1);
    nn::Dense<double> copy = *layer;
    int forwards = 0;
    layer->register_forward_hook([&](nn::Module<double>&, const TensorD&, const TensorD&) {
        ++forwards;
        return TensorD();
    });
    copy(TensorD(kX));
    CHECK(forwards == 1);
    layer->register_full_backward_hook([](nn::Module<double>&, const TensorD&, const TensorD&) { return TensorD(); });
    tg::NoGradGuard no_grad;
    TensorD y = (*layer)(TensorD(kX, true));
    CHECK_FALSE(y.requires_grad());
    CHECK(forwards == 2);
}

TEST_CASE("module hooks: empty functions are refused", "[nn][hooks][errors]") {
    auto layer = dense(kW1, kB1);
    CHECK_THROWS_MATCHES(layer->register_forward_pre_hook({}), tg::ValueError, Says("Dense") && Says("empty"));
    CHECK_THROWS_MATCHES(layer->register_forward_hook({}), tg::ValueError, Says("empty"));
    CHECK_THROWS_MATCHES(layer->register_full_backward_hook({}), tg::ValueError, Says("empty"));
}

TEST_CASE("module hooks: a call on Indices (Embedding, a Sequential starting with one) runs the index hooks",
          "[nn][hooks]") {
    tg::Generator gen(21);
    auto emb = std::make_shared<nn::Embedding<double>>(5, 2, gen);
    const Array table = emb->weight().value();
    auto seq = nn::Sequential<double>{emb, std::make_shared<nn::Tanh<double>>()};
    tg::Indices ids = {{1, 4}, {0, 1}};
    std::vector<std::string> order;
    // The pre-hook sees the ids and replaces them (every id + 1 mod 5); the forward hook sees the ids
    // forward got and the output, and replaces the output by twice it.
    auto pre = emb->register_index_forward_pre_hook(
        [&](nn::Module<double>& m, const tg::Indices& in) -> std::optional<tg::Indices> {
            order.push_back("pre " + m.name());
            CHECK(in.value() == ids.value());
            tg::Indices::array_type shifted = (in.value() + 1) % 5;
            return tg::Indices(std::move(shifted));
        });
    auto post = emb->register_index_forward_hook(
        [&](nn::Module<double>&, const tg::Indices& in, const TensorD& out) -> TensorD {
            order.push_back("forward");
            CHECK(in.value() == xt::xarray<std::int64_t>{{2, 0}, {1, 2}});
            return out * 2.0;
        });
    auto whole = seq.register_index_forward_hook([&](nn::Module<double>& m, const tg::Indices& in, const TensorD&) {
        order.push_back("forward " + m.name());
        CHECK(in.value() == ids.value());  // the Sequential's own input
        return TensorD();
    });
    std::vector<TensorD> grad_inputs, grad_outputs;
    auto backward = emb->register_full_backward_hook([&](nn::Module<double>&, const TensorD& gi, const TensorD& go) {
        grad_inputs.push_back(gi);
        grad_outputs.push_back(go);
        return TensorD();
    });
    const TensorD y = seq(ids);
    CHECK(order == std::vector<std::string>{"pre Embedding", "forward", "forward Sequential"});
    const xt::xarray<std::int64_t> used = {{2, 0}, {1, 2}};
    for (std::size_t n = 0; n < 2; ++n)
        for (std::size_t t = 0; t < 2; ++t)
            for (std::size_t j = 0; j < 2; ++j)
                CHECK(y.value()(n, t, j) == Approx(std::tanh(2.0 * table(used(n, t), j))).margin(1e-15));
    // The backward hook: grad_input undefined (ids have no gradient), grad_output d sum(y) / d out
    // at the output of forward hooks, 1 - y^2.
    tg::sum(y).backward();
    REQUIRE(grad_outputs.size() == 1);
    CHECK_FALSE(grad_inputs[0].defined());
    CHECK(close(grad_outputs[0].value(), 1.0 - y.value() * y.value()));
    // Removed: the plain lookup again; nothing fires.
    pre.remove(), post.remove(), whole.remove(), backward.remove();
    order.clear();
    const TensorD plain = (*emb)(ids);
    CHECK(order.empty());
    CHECK(plain.value()(0, 1, 0) == table(4, 0));
    CHECK(grad_outputs.size() == 1);
    // Refusals: an empty hook; a module of a tensor, or an empty Sequential, called on Indices.
    CHECK_THROWS_MATCHES(emb->register_index_forward_pre_hook({}), tg::ValueError, Says("Embedding") && Says("empty"));
    CHECK_THROWS_MATCHES(emb->register_index_forward_hook({}), tg::ValueError, Says("empty"));
    nn::Dense<double> layer(2, 2, gen);
    CHECK_THROWS_MATCHES(layer(ids), tg::ValueError, Says("Dense") && Says("Indices"));
    auto starts_dense = nn::Sequential<double>{std::make_shared<nn::Dense<double>>(2, 2, gen), emb};
    CHECK_THROWS_MATCHES(starts_dense(ids), tg::ValueError, Says("Dense") && Says("Indices"));
    CHECK_THROWS_MATCHES(nn::Sequential<double>()(ids), tg::ValueError, Says("Sequential") && Says("empty"));
}
