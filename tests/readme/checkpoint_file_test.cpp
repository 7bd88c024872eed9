#include <catch2/catch.hpp>
#include <filesystem>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;

TEST_CASE("a checkpoint in one safetensors file: the model under model.<key>, the rest beside it", "[readme]") {
    tg::Generator gen(0);
    auto model = nn::mlp<float>({4, 8, 2}, nn::Activation::ReLU, gen);
    tg::optim::Adam<float> adam(model.parameters(), {.lr = 1e-3});
    const auto path = (std::filesystem::temp_directory_path() / "readme_run.safetensors").string();
    nn::save_checkpoint(path, model, adam, {{"epoch", "3"}});  // a path without .safetensors: a folder
    // Python: sd = safetensors.torch.load_file(path)
    //         model.load_state_dict({k[6:]: v for k, v in sd.items() if k.startswith("model.")})
    const tg::data::SafetensorsFile file(path);
    CHECK(file.contains("model.0.weight"));
    CHECK(file.contains("optimizer.lr.0"));                // Adam keeps no moments before its first step
    CHECK(file.metadata().at("optimizer.lr") == "0.001");  // exact, as text
    CHECK(file.metadata().at("extra.epoch") == "Mw==");    // base64.b64decode gives b"3"

    auto resumed = nn::mlp<float>({4, 8, 2}, nn::Activation::ReLU, gen);  // other weights
    tg::optim::Adam<float> adam2(resumed.parameters(), {.lr = 0.5});
    CHECK(nn::load_checkpoint(path, resumed, adam2).at("epoch") == "3");  // a file or a folder
    CHECK(adam2.lr() == 1e-3);
    const tg::Tensor<float> x({{1.0f, 2.0f, 3.0f, 4.0f}});
    CHECK(resumed(x).value() == model(x).value());
    std::filesystem::remove(path);
}
