// PyTorch's own weights and outputs (tests/interop/fixtures/, from scripts/pytorch_fixtures.py
// generate): each model's state_dict loads by name into the tapegrad module built the same way and
// gives PyTorch's outputs to 1e-6 (float32) and 1e-12 (float64). Then each model trains a few steps
// in tapegrad and is written, with tapegrad's outputs, to build/tests/interop/written/, which
// `scripts/pytorch_fixtures.py check` loads into PyTorch (documented, not run in CI).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>

#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
namespace fs = std::filesystem;

namespace {

const fs::path fixtures = fs::path(TAPEGRAD_SOURCE_DIR) / "tests" / "interop" / "fixtures";

template <class T>
std::string tag() {
    return sizeof(T) == 4 ? "f32" : "f64";
}

// The tolerance the issue sets, relative to max(1, |PyTorch's value|): float32 results differ by
// a few roundings of the float32 sums, float64 ones by a few of the float64 sums.
template <class T>
double tolerance() {
    return sizeof(T) == 4 ? 1e-6 : 1e-12;
}

template <class T>
double worst_difference(const tg::Tensor<T>& ours, const tg::Tensor<T>& theirs) {
    REQUIRE(ours.shape() == theirs.shape());
    double worst = 0;
    const auto& a = ours.value();
    const auto& b = theirs.value();
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double d = std::abs(double(a.flat(i)) - double(b.flat(i))) / std::max(1.0, std::abs(double(b.flat(i))));
        worst = std::max(worst, std::isnan(d) ? INFINITY : d);
    }
    return worst;
}

// The models of scripts/pytorch_fixtures.py, built the tapegrad way (weights from `gen`, to be
// replaced by PyTorch's).
template <class T>
std::shared_ptr<nn::Module<T>> build(const std::string& name, tg::Generator& gen) {
    if (name == "mlp") return std::make_shared<nn::Sequential<T>>(nn::mlp<T>({6, 5, 4, 3}, nn::Activation::ReLU, gen));
    if (name == "cnn") {
        return std::make_shared<nn::Sequential<T>>(nn::Sequential<T>{
            std::make_shared<nn::Conv2d<T>>(1, 4, 3, gen, 1, 1), std::make_shared<nn::BatchNorm2d<T>>(4),
            std::make_shared<nn::ReLU<T>>(), std::make_shared<nn::MaxPool2d<T>>(2),
            std::make_shared<nn::Conv2d<T>>(4, 6, 3, gen, 2, 1, 1, 1, false), std::make_shared<nn::BatchNorm2d<T>>(6),
            std::make_shared<nn::ReLU<T>>(), std::make_shared<nn::Flatten<T>>(),
            std::make_shared<nn::Dense<T>>(6 * 2 * 2, 3, gen)});
    }
    if (name == "transformer") {
        return std::make_shared<nn::TransformerEncoderLayer<T>>(
            nn::TransformerEncoderLayerOptions{
                .d_model = 8, .nhead = 2, .dim_feedforward = 16, .dropout = 0.0, .batch_first = true},
            gen);
    }
    nn::RecurrentOptions options;
    options.num_layers = 2;
    options.batch_first = true;
    options.bidirectional = true;
    return std::make_shared<nn::LSTM<T>>(3, 4, gen, options);
}

template <class T>
const tg::Tensor<T>& find(const tg::data::NamedTensors<T>& tensors, const std::string& name) {
    const auto it = std::find_if(tensors.begin(), tensors.end(), [&](const auto& e) { return e.first == name; });
    REQUIRE(it != tensors.end());
    return it->second;
}

// The model in eval mode on the fixture's inputs: "output", and for the LSTM (from the given
// initial states) "h_n" and "c_n", as the script names them.
template <class T>
tg::data::NamedTensors<T> outputs(const std::string& name, nn::Module<T>& model, const tg::data::NamedTensors<T>& io) {
    model.eval();
    const auto& x = find(io, "input");
    if (name != "lstm") return {{"output", model(x)}};
    auto out = dynamic_cast<nn::LSTM<T>&>(model).forward(x, find(io, "h0"), find(io, "c0"));
    return {{"output", out.output}, {"h_n", out.h_n}, {"c_n", out.c_n}};
}

// Loads the fixture's state_dict into a fresh tapegrad model and returns its outputs' worst
// difference from PyTorch's.
template <class T>
double difference_from_pytorch(const std::string& name, const fs::path& weights) {
    tg::Generator gen(7);
    auto model = build<T>(name, gen);
    const auto io = tg::data::read_safetensors<T>((fixtures / (name + "_" + tag<T>() + "_io.safetensors")).string());
    // strict: every key by name (np.savez's archives: deflated for f32, stored for f64, ZIP64 records)
    const auto result = weights.extension() == ".npz" ? nn::load_npz(*model, weights.string())
                                                      : nn::load_safetensors(*model, weights.string());
    CHECK(result.missing_keys.empty());
    double worst = 0;
    for (const auto& [key, value] : outputs(name, *model, io))
        worst = std::max(worst, worst_difference(value, find(io, key)));
    return worst;
}

template <class T>
void reproduces_pytorch(const std::string& name) {
    for (const char* format : {".safetensors", ".npz"}) {
        const auto weights = fixtures / (name + "_" + tag<T>() + format);
        const double worst = difference_from_pytorch<T>(name, weights);
        INFO(weights.filename().string() << ": worst relative difference from PyTorch " << worst);
        CHECK(worst <= tolerance<T>());
    }
}

// A few SGD steps in train mode on the fixture's input (batch norm's statistics move too), then
// the state_dict and tapegrad's eval-mode outputs go to written/ for the script's check; the
// written file loads back into another tapegrad model with identical outputs.
template <class T>
void trains_and_writes(const std::string& name) {
    tg::Generator gen(11);
    auto model = build<T>(name, gen);
    const auto io = tg::data::read_safetensors<T>((fixtures / (name + "_" + tag<T>() + "_io.safetensors")).string());
    nn::load_safetensors(*model, (fixtures / (name + "_" + tag<T>() + ".safetensors")).string());
    const auto before = outputs(name, *model, io);
    tg::optim::SGD<T> sgd(model->parameters(), {.lr = 0.05, .momentum = 0.9});
    model->train();
    for (int step = 0; step < 3; ++step) {
        sgd.zero_grad();
        const auto y = (*model)(find(io, "input"));
        tg::mean(tg::mul(y, y)).backward();
        sgd.step();
    }
    const auto after = outputs(name, *model, io);
    CHECK(worst_difference(after[0].second, before[0].second) > 1e-4);  // the weights did move

    const fs::path folder = TAPEGRAD_INTEROP_WRITTEN;
    fs::create_directories(folder);
    const auto base = folder / (name + "_" + tag<T>());
    nn::save_safetensors(*model, base.string() + ".safetensors");
    nn::save_npz(*model, base.string() + ".npz", /*compressed=*/sizeof(T) == 4);
    tg::data::NamedTensors<T> written = {{"input", find(io, "input")}};
    if (name == "lstm") written.insert(written.end(), {{"h0", find(io, "h0")}, {"c0", find(io, "c0")}});
    written.insert(written.end(), after.begin(), after.end());
    tg::data::write_safetensors(base.string() + "_io.safetensors", written);

    tg::Generator other(12);
    auto copy = build<T>(name, other);
    nn::load_safetensors(*copy, base.string() + ".safetensors");
    const auto again = outputs(name, *copy, io);
    for (std::size_t i = 0; i < again.size(); ++i) CHECK(worst_difference(again[i].second, after[i].second) == 0);
    tg::Generator third(13);
    auto from_npz = build<T>(name, third);
    nn::load_npz(*from_npz, base.string() + ".npz");
    const auto npz_again = outputs(name, *from_npz, io);
    for (std::size_t i = 0; i < npz_again.size(); ++i)
        CHECK(worst_difference(npz_again[i].second, after[i].second) == 0);
}

}  // namespace

TEMPLATE_TEST_CASE("PyTorch fixtures: an MLP's state_dict loads by name and gives PyTorch's outputs", "[interop]",
                   float, double) {
    reproduces_pytorch<TestType>("mlp");
}

TEMPLATE_TEST_CASE("PyTorch fixtures: a CNN with batch norm (running statistics, int64 num_batches_tracked)",
                   "[interop]", float, double) {
    reproduces_pytorch<TestType>("cnn");
}

TEMPLATE_TEST_CASE("PyTorch fixtures: a transformer encoder layer (in_proj_weight, norms) in eval mode", "[interop]",
                   float, double) {
    reproduces_pytorch<TestType>("transformer");
}

TEMPLATE_TEST_CASE("PyTorch fixtures: a two-layer bidirectional LSTM from given h0 and c0", "[interop]", float,
                   double) {
    reproduces_pytorch<TestType>("lstm");
}

TEMPLATE_TEST_CASE("PyTorch fixtures: each model trained in tapegrad is written for PyTorch and reloads exactly",
                   "[interop]", float, double) {
    for (const char* name : {"mlp", "cnn", "transformer", "lstm"}) {
        INFO(name);
        trains_and_writes<TestType>(name);
    }
}
