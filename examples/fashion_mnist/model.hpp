// The example's models, built from nn modules with PyTorch's default initialisation: the MLP
// 784-256-128-10 and the CNN. One definition, used by the example (--model) and by bench/'s
// "cnn_step" row; bench/libtorch_fashion_mnist.cpp builds the same layers in LibTorch.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <tapegrad/tapegrad.hpp>

namespace fashion {

/// The CNN on [N, 784] rows of 28 x 28 pixels (Unflatten makes them [N, 1, 28, 28] images):
///   Conv2d(1, 32, 3, padding 1, no bias) BatchNorm2d(32) ReLU MaxPool2d(2)    -> [N, 32, 14, 14]
///   Conv2d(32, 64, 3, padding 1, no bias) BatchNorm2d(64) ReLU MaxPool2d(2)   -> [N, 64, 7, 7]
///   Dropout2d(0.1) Flatten Linear(3136, 128) ReLU Dropout(0.3) Linear(128, 10)
/// The convolutions have no bias: the batch norm after each removes it anyway. Weights and the
/// dropout streams are drawn from `gen`.
inline tapegrad::nn::Sequential<float> cnn(tapegrad::Generator& gen) {
    namespace nn = tapegrad::nn;
    const auto conv = [&](std::size_t in, std::size_t out) {
        return std::make_shared<nn::Conv2d<float>>(in, out, 3, gen, 1, 1, 1, 1, false);
    };
    return {std::make_shared<nn::Unflatten<float>>(1, std::vector<std::int64_t>{1, 28, 28}),
            conv(1, 32),
            std::make_shared<nn::BatchNorm2d<float>>(32),
            std::make_shared<nn::ReLU<float>>(),
            std::make_shared<nn::MaxPool2d<float>>(2),
            conv(32, 64),
            std::make_shared<nn::BatchNorm2d<float>>(64),
            std::make_shared<nn::ReLU<float>>(),
            std::make_shared<nn::MaxPool2d<float>>(2),
            std::make_shared<nn::Dropout2d<float>>(0.1, gen),
            std::make_shared<nn::Flatten<float>>(),
            std::make_shared<nn::Dense<float>>(64 * 7 * 7, 128, gen),
            std::make_shared<nn::ReLU<float>>(),
            std::make_shared<nn::Dropout<float>>(0.3, gen),
            std::make_shared<nn::Dense<float>>(128, 10, gen)};
}

/// The model named `name`: "mlp" (784-256-128-10, ReLU) or "cnn" (above), for rows of `features`
/// pixels; ValueError for another name, or the CNN on other than 784 pixels.
inline tapegrad::nn::Sequential<float> build_model(const std::string& name, std::size_t features,
                                                   tapegrad::Generator& gen) {
    namespace nn = tapegrad::nn;
    if (name == "mlp") return nn::mlp<float>({features, 256, 128, 10}, nn::Activation::ReLU, gen);
    if (name != "cnn") tapegrad::fail<tapegrad::ValueError>("model '{}': not mlp or cnn", name);
    if (features != 28 * 28)
        tapegrad::fail<tapegrad::ValueError>("model cnn: takes 28 x 28 images, not rows of {} pixels", features);
    return cnn(gen);
}

}  // namespace fashion
