#include <catch2/catch.hpp>
#include <filesystem>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;

TEST_CASE("weights travel to and from PyTorch by their state_dict names", "[readme]") {
    tg::Generator gen(0);
    auto model = nn::mlp<float>({4, 8, 2}, nn::Activation::ReLU, gen);
    // The keys of torch.nn.Sequential(Linear(4, 8), ReLU(), Linear(8, 2)).state_dict(), in its order.
    CHECK(model.state_dict().keys() == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});

    const auto path = (std::filesystem::temp_directory_path() / "readme_mlp.safetensors").string();
    nn::save_safetensors(model, path);  // Python: model.load_state_dict(safetensors.torch.load_file(path))

    auto copy = nn::mlp<float>({4, 8, 2}, nn::Activation::ReLU, gen);  // other weights
    nn::load_safetensors(copy, path);  // what Python's safetensors.torch.save_file(model.state_dict(), path) wrote
    const tg::Tensor<float> x({{1.0f, 2.0f, 3.0f, 4.0f}});
    CHECK(copy(x).value() == model(x).value());
    std::filesystem::remove(path);
}
