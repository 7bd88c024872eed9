#include <catch2/catch.hpp>
#include <filesystem>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
namespace data = tapegrad::data;

TEST_CASE("weights travel to and from NumPy as .npz archives", "[readme]") {
    tg::Generator gen(0);
    auto model = nn::mlp<float>({4, 8, 2}, nn::Activation::ReLU, gen);
    const auto path = (std::filesystem::temp_directory_path() / "readme_mlp.npz").string();
    nn::save_npz(model, path, /*compressed=*/true);  // Python: dict(np.load(path)) has the keys "0.weight", ...

    auto copy = nn::mlp<float>({4, 8, 2}, nn::Activation::ReLU, gen);
    nn::load_npz(copy, path);  // what np.savez(path, **arrays) or np.savez_compressed wrote, any numeric dtype
    const tg::Tensor<float> x({{1.0f, 2.0f, 3.0f, 4.0f}});
    CHECK(copy(x).value() == model(x).value());

    const data::NamedTensors<double> arrays = data::read_npz<double>(path);  // float32 members, widened exactly
    CHECK(arrays.front().first == "0.weight");
    std::filesystem::remove(path);
}
