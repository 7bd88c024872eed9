#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;

TEST_CASE("checkpointing keeps fewer activations for the backward, and gives the same gradients", "[readme]") {
    tg::Generator gen(0);
    // 8 hidden layers of 256 (ReLU): 17 modules.
    nn::Sequential<float> model =
        nn::mlp<float>({64, 256, 256, 256, 256, 256, 256, 256, 256, 10}, nn::Activation::ReLU, gen);
    const tg::TensorF x = tg::randn<float>({32, 64}, gen);
    auto& tape = tg::Tape::current();
    auto step = [&] {  // forward and backward; the most bytes of activations the graph held
        tape.reset_peak_saved_bytes();
        tg::sum(tg::square(model(x))).backward();
        return tape.peak_saved_bytes();
    };
    const std::size_t plain = step();
    const xt::xarray<float> first_weight_grad = model.parameters()[0].grad().value();

    model.zero_grad();
    model.set_checkpoint_segments(4);  // 4 runs of modules, each computed again by the backward
    const std::size_t checkpointed = step();
    CHECK(model.parameters()[0].grad().value() == first_weight_grad);  // bit for bit
    CHECK(2 * checkpointed < plain);

    // Any function of tensors: the parameters it uses get their gradients too.
    const tg::TensorF w = tg::randn<float>({64, 64}, gen, 0.0F, 0.1F, /*requires_grad=*/true);
    auto block = [w](const tg::TensorF& h) { return tg::tanh(tg::matmul(tg::tanh(tg::matmul(h, w)), w)); };
    tg::sum(tg::checkpoint<float>(block, x)).backward();
    CHECK(w.grad().defined());
}
