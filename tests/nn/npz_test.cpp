// nn::save_npz / nn::load_npz: a module's state_dict through an .npz archive by name, and what a
// NumPy archive of other dtypes (int64 num_batches_tracked) loads into.
#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include <tapegrad/tapegrad.hpp>
#include "autograd/says.hpp"
#include "data/files.hpp"
#include "data/zip_files.hpp"

namespace tg = tapegrad;
namespace nn = tapegrad::nn;

TEST_CASE("save_npz / load_npz: a model's state_dict goes out and comes back by name, stored or deflated",
          "[nn][npz]") {
    testing::TempDir dir;
    tg::Generator gen(11);
    auto make = [&gen] {
        return std::make_shared<nn::Sequential<double>>(std::initializer_list<nn::Module<double>::ModulePtr>{
            std::make_shared<nn::Dense<double>>(3, 4, gen), std::make_shared<nn::BatchNorm1d<double>>(4),
            std::make_shared<nn::Dense<double>>(4, 2, gen)});
    };
    auto source = make();
    (*source)(tg::Tensor<double>({{1.0, 2.0, 3.0}, {0.5, -1.0, 2.0}}));  // moves the running statistics
    for (const bool compressed : {false, true}) {
        const std::string path = dir.file(compressed ? "c.npz" : "s.npz");
        nn::save_npz(*source, path, compressed);
        const tg::data::NpzFile file(path);
        CHECK(file.entries().front().member == "0.weight.npy");
        CHECK(file.entry("1.num_batches_tracked").method == (compressed ? 8 : 0));

        auto target = make();
        const auto result = nn::load_npz(*target, path);
        CHECK(result.missing_keys.empty());
        for (const auto& [key, tensor] : source->state_dict())
            CHECK((target->state_dict().at(key).value() == tensor.value()));  // float64 bit for bit
    }
}

TEST_CASE(
    "load_npz: NumPy's int64 and float32 arrays load into a float64 module, strict or not, a mismatch changes "
    "nothing",
    "[nn][npz]") {
    // BatchNorm1d(2) as np.savez(**{k: v.numpy() for k, v in bn.state_dict().items()}) writes it.
    const auto f32 = [](float a, float b) { return testing::le_bytes<float>({a, b}); };
    const std::string vec = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    const auto zip = testing::zip_of({
        {"weight.npy", testing::npy_of(vec, f32(3.0f, 1.5f))},
        {"bias.npy", testing::npy_of(vec, f32(0.5f, -0.5f)), true},
        {"running_mean.npy", testing::npy_of(vec, f32(1.0f, 2.0f))},
        {"running_var.npy", testing::npy_of(vec, f32(4.0f, 0.25f))},
        {"num_batches_tracked.npy", testing::npy_of("{'descr': '<i8', 'fortran_order': False, 'shape': (), }",
                                                    testing::le_bytes<std::int64_t>({5}))},
        {"extra.npy", testing::npy_of(vec, f32(0.0f, 0.0f))},
    });
    testing::TempDir dir;
    const std::string path = dir.file("bn.npz");
    testing::write_plain(path, zip.bytes);

    nn::BatchNorm1d<double> bn(2);
    const auto before = bn.state_dict().at("weight").value();
    CHECK_THROWS_MATCHES(nn::load_npz(bn, path), tg::ValueError, Says("extra"));
    CHECK((bn.state_dict().at("weight").value() == before));
    const auto result = nn::load_npz(bn, path, /*strict=*/false);
    CHECK(result.unexpected_keys == std::vector<std::string>{"extra"});
    const auto dict = bn.state_dict();
    CHECK(dict.at("num_batches_tracked").item() == 5.0);
    CHECK((dict.at("bias").value() == xt::xarray<double>({0.5, -0.5})));
    CHECK((dict.at("running_var").value() == xt::xarray<double>({4.0, 0.25})));

    nn::BatchNorm1d<double> three(3);
    const auto three_before = three.state_dict().at("weight").value();
    CHECK_THROWS_MATCHES(nn::load_npz(three, path, false), tg::ValueError,
                         Says("size mismatch for weight: [2] in the dict, [3] in the module"));
    CHECK((three.state_dict().at("weight").value() == three_before));
}
