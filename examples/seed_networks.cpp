// The networks of the seed documents, on small synthetic data, each printing its falling loss:
//   001: a sigmoid MLP trained by gradient descent on the cost C = 1/2 sum_j (y_j - a_j)^2
//   002: a softmax / cross-entropy MLP trained by minibatch SGD
//   004: a single sigmoid perceptron trained one sample at a time on L = 1/2 (y_hat - y)^2
#include <cmath>
#include <cstdio>
#include <memory>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
using Tensor = tg::Tensor<double>;

namespace {

struct Fell {
    double first = 0;
    double last = 0;
    bool ok() const { return last < first; }
};

/// n points uniform in [-1, 1]^2, one per row.
xt::xarray<double> points(std::size_t n, tg::Generator& gen) {
    return tg::rand<double>({n, 2}, gen, -1, 1).value();
}

Fell seed_001(tg::Generator& gen) {
    std::puts("seed 001: sigmoid MLP 2-8-2, half sum of squares, gradient descent (inside / outside a circle)");
    const std::size_t n = 200;
    const xt::xarray<double> x = points(n, gen);
    xt::xarray<double> y = xt::zeros<double>({n, std::size_t{2}});
    for (std::size_t i = 0; i < n; ++i) y(i, x(i, 0) * x(i, 0) + x(i, 1) * x(i, 1) < 0.5 ? 0 : 1) = 1;  // one-hot

    tg::nn::Sequential<double> net{
        std::make_shared<tg::nn::Dense<double>>(2, 8, gen), std::make_shared<tg::nn::Sigmoid<double>>(),
        std::make_shared<tg::nn::Dense<double>>(8, 2, gen), std::make_shared<tg::nn::Sigmoid<double>>()};
    tg::optim::SGD<double> sgd(net.parameters(), {.lr = 3.0});
    Fell fell;
    for (int step = 0; step <= 2000; ++step) {
        // Mean over samples of each sample's cost 1/2 sum_j (a_j - y_j)^2.
        const Tensor cost = tg::half_sum_squares(net(Tensor(x)), Tensor(y), tg::Reduction::Mean);
        sgd.zero_grad();
        cost.backward();
        sgd.step();
        (step == 0 ? fell.first : fell.last) = cost.item();
        if (step % 400 == 0) std::printf("  step %4d  cost %.5f\n", step, cost.item());
    }
    return fell;
}

Fell seed_002(tg::Generator& gen) {
    std::puts("seed 002: softmax / cross-entropy MLP 2-16-3, minibatch SGD (three blobs)");
    const std::size_t n = 300;
    tg::data::Dataset<double> data;
    data.images = tg::randn<double>({n, 2}, gen, 0, 0.5).value();
    data.labels = tg::Labels::full({n}, 0);
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<std::int64_t>(i % 3);
        data.images(i, 0) += std::cos(2.1 * static_cast<double>(c)) * 1.5;  // blob centres on a circle
        data.images(i, 1) += std::sin(2.1 * static_cast<double>(c)) * 1.5;
        data.labels[i] = c;
    }
    auto net = tg::nn::mlp<double>({2, 16, 3}, tg::nn::Activation::Sigmoid, gen);
    tg::optim::SGD<double> sgd(net.parameters(), {.lr = 0.5});
    tg::data::DataLoader<double> loader(data, {.batch_size = 16, .seed = 2});
    Fell fell;
    for (int epoch = 1; epoch <= 20; ++epoch) {
        double sum = 0;
        for (const auto& [x, labels] : loader.epoch()) {
            const Tensor loss = tg::cross_entropy(net(x), labels);  // softmax + cross-entropy, mean over the batch
            sgd.zero_grad();
            loss.backward();
            sgd.step();
            sum += loss.item() * static_cast<double>(labels.numel());
        }
        (epoch == 1 ? fell.first : fell.last) = sum / n;
        if (epoch == 1 || epoch % 5 == 0) std::printf("  epoch %2d  mean loss %.5f\n", epoch, sum / n);
    }
    return fell;
}

Fell seed_004(tg::Generator& gen) {
    std::puts("seed 004: perceptron y_hat = sigmoid(w . x + b), one sample at a time (a separable line)");
    const std::size_t n = 100;
    const xt::xarray<double> x = points(n, gen);
    const Tensor samples(x);
    tg::nn::Dense<double> neuron(2, 1, gen);
    tg::optim::SGD<double> sgd(neuron.parameters(), {.lr = 0.5});
    Fell fell;
    for (int epoch = 1; epoch <= 10; ++epoch) {
        double sum = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const Tensor xi = tg::slice(samples, 0, i, i + 1);  // row i, as a 1 x 2 batch
            const Tensor yi = tg::full<double>({1, 1}, x(i, 0) + 2 * x(i, 1) > 0.2 ? 1.0 : 0.0);
            const Tensor loss = tg::half_sum_squares(tg::sigmoid(neuron(xi)), yi);  // 1/2 (y_hat - y)^2
            sgd.zero_grad();
            loss.backward();
            sgd.step();  // w <- w - alpha (y_hat - y) sigma'(a) x
            sum += loss.item();
        }
        (epoch == 1 ? fell.first : fell.last) = sum / n;
        if (epoch == 1 || epoch % 3 == 0) std::printf("  epoch %2d  mean loss %.5f\n", epoch, sum / n);
    }
    return fell;
}

}  // namespace

int main() {
    tg::Generator gen(1);
    bool all = true;
    for (auto seed : {seed_001, seed_002, seed_004}) {
        const Fell fell = seed(gen);
        std::printf("  loss %.5f -> %.5f: %s\n", fell.first, fell.last, fell.ok() ? "fell" : "DID NOT FALL");
        all = all && fell.ok();
    }
    return all ? 0 : 1;
}
