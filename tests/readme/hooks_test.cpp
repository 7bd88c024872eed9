#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

#include <cstdio>
#include <map>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;

TEST_CASE("hooks print each layer's gradient norm and clip a gradient", "[readme]") {
    tg::Generator gen(0);
    auto model = nn::mlp<float>({4, 8, 3}, nn::Activation::ReLU, gen);
    auto x = tg::randn<float>({16, 4}, gen);
    tg::Indices y = tg::randint(3, {16}, gen);

    // Each parameter's gradient norm, printed as soon as its .grad() is final: during the backward,
    // last layer first (where a data-parallel step would start its allreduce).
    std::map<std::string, float> norms;
    std::vector<tg::HookHandle> handles;
    for (const auto& named : model.named_parameters()) {
        const std::string name = named.first;
        auto param = named.second;
        handles.push_back(param.register_post_accumulate_grad_hook([&norms, name](tg::TensorF& leaf) {
            norms[name] = tg::norm(leaf.grad()).item();
            std::printf("%-8s |grad| = %.5f\n", name.c_str(), norms[name]);
        }));
    }
    // Clip the gradient leaving the loss to [-0.001, 0.001] elementwise, before the layers use it.
    auto logits = model(x);
    logits.register_hook([](const tg::TensorF& g) { return tg::clamp(g, -0.001F, 0.001F); });
    tg::cross_entropy(logits, y).backward();

    for (const auto& [name, param] : model.named_parameters()) CHECK(norms.at(name) == tg::norm(param.grad()).item());
    // The last bias's gradient sums 16 clipped rows.
    CHECK(xt::amax(xt::abs(model.at<nn::Dense<float>>(2)->bias().grad().value()))() <= 16 * 0.001F + 1e-6F);
    for (auto& handle : handles) handle.remove();  // hooks stay until removed: dropping a handle keeps them
}
