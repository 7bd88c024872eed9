#include <catch2/catch.hpp>
#include <tapegrad/ops/extension.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;

/// y = x * weight + bias, per feature (the affine part of a LayerNorm), written as an op:
///   d/dx = g * weight      d/dweight = g * x      d/dbias = g      (the engine sums over rows)
template <class T>
class Affine : public nn::Module<T> {
public:
    explicit Affine(std::size_t features, tg::Generator& gen) {
        // Registered with the members holding them, so nn::functional_call can substitute them.
        this->register_parameter("weight", &Affine::weight_, tg::randn<T>({features}, gen));
        this->register_parameter("bias", &Affine::bias_, tg::zeros<T>({features}));
    }

    tg::Tensor<T> forward(const tg::Tensor<T>& x) override {
        tg::check_broadcast("Affine", x, weight_);
        xt::xarray<T> y = x.value() * weight_.value() + bias_.value();
        return tg::record<T>("Affine", {x, weight_, bias_}, std::move(y), [](const tg::Backward<T>& ctx) {
            return tg::Grads<T>{ctx.grad() * ctx.input(1), ctx.grad() * ctx.input(0), ctx.grad()};
        });
    }
    std::string name() const override { return "Affine"; }
    // The float64 twin gradcheck_module evaluates: same configuration, values copied by name.
    std::shared_ptr<nn::Module<double>> to_float64() const override {
        tg::Generator unused(0);
        return this->copy_state_to(std::make_shared<Affine<double>>(weight_.numel(), unused));
    }

private:
    tg::Tensor<T> weight_;
    tg::Tensor<T> bias_;
};

TEST_CASE("a custom layer in a float32 model has the gradients finite differences say", "[readme]") {
    tg::Generator gen(7);
    nn::Sequential<float> model{std::make_shared<nn::Dense<float>>(3, 4, gen), std::make_shared<Affine<float>>(4, gen),
                                std::make_shared<nn::Tanh<float>>()};
    auto x = tg::randn<float>({2, 3}, gen, 0.0F, 1.0F, /*requires_grad=*/true);

    // Every parameter ("0.weight", ..., "1.bias") and x, on a float64 copy; nothing in model changes.
    auto first = nn::gradcheck_module(model, x);
    INFO(first.report());  // on failure: the parameter's name, the element, analytic and numeric
    CHECK(first.ok);
    CHECK(nn::gradgradcheck_module(model, x).ok);
}
