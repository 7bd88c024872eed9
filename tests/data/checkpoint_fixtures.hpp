// Small models, Adam steps and folder listings shared by the checkpoint tests.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace testing {

using Model = tapegrad::nn::Sequential<float>;

inline Model make_model(std::uint64_t seed, std::vector<std::size_t> sizes = {4, 8, 3}) {
    tapegrad::Generator gen(seed);
    return tapegrad::nn::mlp<float>(sizes, tapegrad::nn::Activation::ReLU, gen);
}

/// A few optimiser steps on fixed data, so that the optimiser has state to save.
inline void train(Model& model, tapegrad::optim::Optimizer<float>& optimizer, int steps) {
    tapegrad::Generator gen(99);
    const auto x = tapegrad::randn<float>({6, 4}, gen);
    const tapegrad::Labels labels = {0, 1, 2, 0, 1, 2};
    for (int s = 0; s < steps; ++s) {
        optimizer.zero_grad();
        tapegrad::cross_entropy(model(x), labels).backward();
        optimizer.step();
    }
}

inline std::vector<xt::xarray<float>> values(const Model& model) {
    std::vector<xt::xarray<float>> out;
    for (const auto& [name, p] : model.named_parameters()) out.push_back(p.value());
    return out;
}

inline std::vector<std::pair<std::string, xt::xarray<float>>> values(const tapegrad::optim::Optimizer<float>& opt) {
    std::vector<std::pair<std::string, xt::xarray<float>>> out;
    for (const auto& [name, t] : opt.state()) out.emplace_back(name, t.value());
    return out;
}

/// The names in a folder, sorted.
inline std::vector<std::string> entries(const std::filesystem::path& folder) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(folder)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace testing
