// Fuzz target: load_checkpoint with an arbitrary manifest.txt next to a valid checkpoint's
// .npy files. Only tapegrad::IoError may escape, and a refused load must leave the model as it was.
#include <cstdint>
#include <filesystem>

#include <tapegrad/tapegrad.hpp>
#include "fuzz_file.hpp"

namespace tg = tapegrad;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string dir = fuzzing::scratch("ckpt");
    static tg::Generator gen(1);
    static auto saved = tg::nn::mlp<float>({3, 4, 2}, tg::nn::Activation::ReLU, gen);
    static bool ready = (tg::nn::save_checkpoint(dir, saved), true);
    (void)ready;
    fuzzing::write_file(dir + "/manifest.txt", data, size);
    auto model = tg::nn::mlp<float>({3, 4, 2}, tg::nn::Activation::ReLU, gen);
    const auto before = model.parameters()[0].value();
    try {
        tg::nn::load_checkpoint(dir, model);
    } catch (const tg::IoError&) {
        if (model.parameters()[0].value() != before) __builtin_trap();
    }
    return 0;
}
