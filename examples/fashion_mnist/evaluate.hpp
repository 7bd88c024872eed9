// Test-set evaluation of a Fashion-MNIST classifier: shared by the fashion_mnist and dp_sgd examples.
#pragma once

#include <algorithm>
#include <cstddef>

#include <tapegrad/tapegrad.hpp>

namespace fashion {

/// Mean test loss and accuracy (a fraction).
struct Evaluation {
    double loss = 0;
    double accuracy = 0;
};

/// Mean cross-entropy and accuracy over a dataset, in chunks, without recording anything. Chunks of
/// 200: the CNN's activations for 200 images (25 MB for the first convolution's output) stay within
/// the buffer pool (autograd/buffer_pool.hpp), so they are reused instead of mapped and page-faulted
/// afresh for every chunk as those of 1000 images were (a third of the CNN example's time on a VM
/// with slow page faults).
inline Evaluation evaluate(tapegrad::nn::Module<float>& model, const tapegrad::data::Dataset<float>& data) {
    tapegrad::NoGradGuard no_grad;
    tapegrad::data::DataLoader<float> loader(data, {.batch_size = 200, .shuffle = false});
    double loss_sum = 0;
    std::size_t correct = 0;
    for (const auto& [x, y] : loader.epoch()) {
        const tapegrad::Tensor<float> logits = model(x);
        loss_sum += tapegrad::cross_entropy(logits, y, tapegrad::Reduction::Sum).item();
        const auto& z = logits.value();
        const std::size_t classes = z.shape()[1];
        for (std::size_t r = 0; r < y.numel(); ++r) {
            const float* row = z.data() + r * classes;
            const auto best = std::max_element(row, row + classes) - row;
            correct += best == y[r];
        }
    }
    const auto n = static_cast<double>(data.size());
    return {loss_sum / n, static_cast<double>(correct) / n};
}

}  // namespace fashion
