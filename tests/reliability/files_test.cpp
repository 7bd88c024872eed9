// Corrupt, truncated and mismatched checkpoints and IDX files beyond tests/data's: each refused
// with IoError naming the file and the fault, and the model (values, versions, gradients) and
// the optimiser left exactly as they were.
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "autograd/says.hpp"
#include "data/files.hpp"
#include "snapshot.hpp"

namespace fs = std::filesystem;
using reliability::changes_all;
using reliability::snapshot_all;
using Model = tg::nn::Sequential<float>;

namespace {

Model make_model(std::uint64_t seed) {
    tg::Generator gen(seed);
    return tg::nn::mlp<float>({4, 8, 3}, tg::nn::Activation::ReLU, gen);
}

void step(Model& model, tg::optim::Optimizer<float>& opt) {
    tg::Generator gen(5);
    opt.zero_grad();
    tg::cross_entropy(model(tg::randn<float>({6, 4}, gen)), tg::Labels{0, 1, 2, 0, 1, 2}).backward();
    opt.step();
    // A fresh gradient, left in place, so that a load touching .grad() would show.
    tg::cross_entropy(model(tg::randn<float>({6, 4}, gen)), tg::Labels{2, 1, 0, 0, 1, 2}).backward();
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

void replace_in(const std::string& path, const std::string& from, const std::string& to) {
    std::string text = read_text(path);
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    write_text(path, text.replace(at, from.size(), to));
}

struct Fixture {
    testing::TempDir dir;
    std::string ckpt = dir.file("ckpt");
    Model model = make_model(2);
    tg::optim::Adam<float> adam{model.parameters()};
    Fixture() {
        Model saved = make_model(1);
        tg::optim::Adam<float> saved_adam(saved.parameters());
        step(saved, saved_adam);
        tg::nn::save_checkpoint(ckpt, saved, saved_adam);
        step(model, adam);
    }
    void refused(const std::string& fault) {
        const auto params = snapshot_all(model.parameters());
        const auto state = adam.state();
        CHECK_THROWS_MATCHES(tg::nn::load_checkpoint(ckpt, model, adam), tg::IoError, Says(ckpt) && Says(fault));
        CHECK(changes_all(params, model.parameters()) == "");
        const auto state_after = adam.state();
        REQUIRE(state_after.size() == state.size());
        for (std::size_t i = 0; i < state.size(); ++i) {
            CHECK(state_after[i].first == state[i].first);
            CHECK(reliability::flat(state_after[i].second) == reliability::flat(state[i].second));
        }
    }
};

}  // namespace

TEST_CASE("reliability: corrupt checkpoint manifests leave model and optimiser unchanged",
          "[reliability][errors][files]") {
    Fixture f;
    const std::string manifest = f.ckpt + "/manifest.txt";
    SECTION("empty manifest") {
        write_text(manifest, "");
        f.refused("starts with ''");
    }
    SECTION("a shape that is not a shape") {
        replace_in(manifest, "parameter 0.weight [8,4]", "parameter 0.weight [8,x]");
        f.refused("'[8,x]' is not a shape");
    }
    SECTION("a dimension too large for any integer") {
        replace_in(manifest, "parameter 0.weight [8,4]", "parameter 0.weight [8,99999999999999999999999]");
        f.refused("is not a shape");
    }
    SECTION("a line with an extra word") {
        replace_in(manifest, "parameter 0.bias [8]", "parameter 0.bias [8] extra");
        f.refused("cannot parse 'parameter 0.bias [8] extra'");
    }
    SECTION("an unknown kind of line") {
        write_text(manifest, read_text(manifest) + "tensor x [1]\n");
        f.refused("cannot parse 'tensor x [1]'");
    }
    SECTION("another dtype") {
        replace_in(manifest, "dtype float32", "dtype float16");
        f.refused("holds float16 tensors, the model is float32");
    }
    SECTION("a checkpoint that is a file") {
        fs::remove_all(f.ckpt);
        write_text(f.ckpt, "not a folder");
        f.refused("not a tapegrad checkpoint?");
    }
}

TEST_CASE("reliability: corrupt .npy files in a checkpoint leave the model unchanged", "[reliability][errors][files]") {
    Fixture f;
    const std::string weight = f.ckpt + "/model/0.weight.npy";
    auto bytes = testing::read_all(weight);
    SECTION("an empty file") {
        testing::write_plain(weight, {});
        f.refused("not a .npy file");
    }
    SECTION("a header length past the end of the file") {
        bytes[8] = 0xff;
        bytes[9] = 0x7f;
        testing::write_plain(weight, bytes);
        f.refused("truncated header");
    }
    SECTION("a header key given twice") {
        std::string text(bytes.begin(), bytes.end());
        text.replace(text.find("'fortran_order'"), 15, "'descr':'<f4'  ");
        testing::write_plain(weight, testing::Bytes(text.begin(), text.end()));
        f.refused("the key 'descr' is given twice");
    }
    SECTION("a shape whose byte count overflows") {
        std::string text(bytes.begin(), bytes.end());
        const auto at = text.find("(8, 4)");
        REQUIRE(at != std::string::npos);
        text.replace(at, 6, "(4294967296, 4294967296, 8,)");
        const auto newline = text.find('\n');
        REQUIRE(text.substr(newline - 22, 22) == std::string(22, ' '));
        text.erase(newline - 22, 22);  // from the padding, to keep the header's declared length
        testing::write_plain(weight, testing::Bytes(text.begin(), text.end()));
        f.refused("too large; the header is corrupt");
    }
    SECTION("a negative dimension") {
        std::string text(bytes.begin(), bytes.end());
        text.replace(text.find("(8, 4)"), 6, "(8,-4)");
        testing::write_plain(weight, testing::Bytes(text.begin(), text.end()));
        f.refused("a negative number");
    }
}

TEST_CASE("reliability: IDX files with corrupt headers leave the caller's data unchanged",
          "[reliability][errors][files]") {
    testing::TempDir dir;
    const std::string path = dir.file("images.idx");
    const tg::data::IdxArray kept = {{2, 2, 2}, testing::counting(8)};
    tg::data::IdxArray data = kept;
    auto refused = [&](const testing::Bytes& bytes, const std::string& fault) {
        testing::write_plain(path, bytes);
        CHECK_THROWS_MATCHES(data = tg::data::read_idx_images(path), tg::IoError, Says(path) && Says(fault));
        CHECK(data.shape == kept.shape);
        CHECK(data.data == kept.data);
    };
    SECTION("sizes whose product overflows") {
        refused(testing::idx_bytes({65536, 65536, 65536}, {}), "the header is corrupt");
    }
    SECTION("sizes that wrap to a small product") {
        refused(testing::idx_bytes({4294967295u, 4294967295u, 4294967295u}, testing::Bytes(8)),
                "the header is corrupt");
    }
    SECTION("a gzip stream of garbage") {
        refused({0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9}, "cannot decompress");
    }
    SECTION("a directory instead of a file") {
        fs::create_directories(path);
        CHECK_THROWS_AS(data = tg::data::read_idx_images(path), tg::IoError);
        CHECK(data.data == kept.data);
    }
}
