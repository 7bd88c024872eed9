// examples/fashion_mnist's models in LibTorch, layer for layer as examples/fashion_mnist/model.hpp
// builds them in tapegrad (LibTorch's default initialisation, which is PyTorch's): shared by
// libtorch_fashion_mnist.cpp and libtorch_bench.cpp's "cnn_step" row.
#pragma once

#include <string>

#include <torch/torch.h>

namespace libtorch_fashion {

/// "mlp": 784-256-128-10 with ReLU; anything else: the CNN of model.hpp on [N, 784] rows.
inline torch::nn::Sequential build_model(const std::string& model) {
    namespace nn = torch::nn;
    if (model == "mlp")
        return nn::Sequential(nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 128), nn::ReLU(), nn::Linear(128, 10));
    const auto conv = [](std::int64_t in, std::int64_t out) {
        return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(false));
    };
    return nn::Sequential(nn::Unflatten(nn::UnflattenOptions(1, {1, 28, 28})), conv(1, 32), nn::BatchNorm2d(32),
                          nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)), conv(32, 64), nn::BatchNorm2d(64),
                          nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)), nn::Dropout2d(0.1), nn::Flatten(),
                          nn::Linear(64 * 7 * 7, 128), nn::ReLU(), nn::Dropout(0.3), nn::Linear(128, 10));
}

}  // namespace libtorch_fashion
