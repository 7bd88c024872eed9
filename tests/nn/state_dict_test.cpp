// state_dict / load_state_dict: PyTorch's keys in PyTorch's order (written out here from
// torch.nn's modules), values shared with the module, loads that copy in, and refusals that name
// every bad key and change nothing.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>
#include "autograd/says.hpp"

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
using tg::Tensor;
using tg::TensorD;

namespace {

std::vector<std::string> keys_of(const nn::Module<double>& m) {
    return m.state_dict().keys();
}

// Every value of the module's state, copied out, to check that a refused load changed nothing.
std::vector<xt::xarray<double>> values_of(const nn::Module<double>& m) {
    std::vector<xt::xarray<double>> out;
    for (const auto& [key, t] : m.state_dict()) out.push_back(t.value());
    return out;
}

std::shared_ptr<nn::Sequential<double>> dense_bn_dense(tg::Generator& gen) {
    return std::make_shared<nn::Sequential<double>>(std::initializer_list<nn::Module<double>::ModulePtr>{
        std::make_shared<nn::Dense<double>>(3, 4, gen), std::make_shared<nn::BatchNorm1d<double>>(4),
        std::make_shared<nn::ReLU<double>>(), std::make_shared<nn::Dense<double>>(4, 2, gen)});
}

}  // namespace

TEST_CASE("state_dict: PyTorch's keys and order, buffers included, for Sequential with BatchNorm1d",
          "[nn][state_dict]") {
    tg::Generator gen(1);
    auto model = dense_bn_dense(gen);
    // torch.nn.Sequential(Linear(3, 4), BatchNorm1d(4), ReLU(), Linear(4, 2)).state_dict().keys()
    CHECK(keys_of(*model) == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                                      "1.running_var", "1.num_batches_tracked", "3.weight", "3.bias"});
    const auto dict = model->state_dict();
    CHECK(dict.at("1.num_batches_tracked").shape().empty());
    CHECK(dict.at("1.running_var").value() == xt::xarray<double>({1, 1, 1, 1}));
}

TEST_CASE("state_dict: a transformer encoder layer has PyTorch's keys in PyTorch's order", "[nn][state_dict]") {
    tg::Generator gen(2);
    nn::TransformerEncoderLayer<double> layer({.d_model = 4, .nhead = 2}, gen);
    // torch.nn.TransformerEncoderLayer(4, 2).state_dict().keys()
    CHECK(keys_of(layer) == std::vector<std::string>{"self_attn.in_proj_weight", "self_attn.in_proj_bias",
                                                     "self_attn.out_proj.weight", "self_attn.out_proj.bias",
                                                     "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
                                                     "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"});
}

TEST_CASE("state_dict: a stacked bidirectional LSTM has PyTorch's keys in PyTorch's order", "[nn][state_dict]") {
    tg::Generator gen(12);
    nn::LSTM<double> lstm(3, 2, gen, {.num_layers = 2, .bidirectional = true});
    // torch.nn.LSTM(3, 2, num_layers=2, bidirectional=True).state_dict().keys()
    std::vector<std::string> expected;
    for (const char* layer : {"_l0", "_l0_reverse", "_l1", "_l1_reverse"}) {
        for (const char* name : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"})
            expected.push_back(name + std::string(layer));
    }
    CHECK(keys_of(lstm) == expected);
    CHECK(lstm.state_dict().at("weight_ih_l1").shape() == tg::Shape{8, 4});  // 4 gates x hidden, 2 directions x hidden
}

TEST_CASE("state_dict: a module held twice is listed under both paths, as PyTorch does", "[nn][state_dict]") {
    tg::Generator gen(3);
    auto shared = std::make_shared<nn::Dense<double>>(2, 2, gen);
    nn::Sequential<double> model{shared, std::make_shared<nn::Tanh<double>>(), shared};
    CHECK(keys_of(model) == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
    const auto dict = model.state_dict();
    CHECK(dict.at("0.weight").same(dict.at("2.weight")));
    CHECK(model.named_parameters().size() == 2);  // parameters() still lists it once
}

TEST_CASE("state_dict: values are the module's tensors, so writing one in place changes the module",
          "[nn][state_dict]") {
    tg::Generator gen(4);
    nn::Dense<double> dense(2, 3, gen);
    auto dict = dense.state_dict();
    CHECK(dict.at("weight").same(dense.named_parameters()[0].second));
    Tensor<double> w = dict.at("weight");
    w.mutable_value()(1, 0) = 42.0;
    CHECK(dense.named_parameters()[0].second.value()(1, 0) == 42.0);
}

TEST_CASE("load_state_dict: copies the values in, keeps the module's tensors, and the forward uses them",
          "[nn][state_dict]") {
    tg::Generator gen(5);
    nn::Dense<double> dense(2, 2, gen);
    const TensorD weight_before = dense.named_parameters()[0].second;
    TensorD w({{1.0, 2.0}, {3.0, 4.0}});
    const TensorD b({0.5, -0.5});
    const auto result = dense.load_state_dict({{"weight", w}, {"bias", b}});
    CHECK(result.missing_keys.empty());
    CHECK(result.unexpected_keys.empty());
    CHECK(dense.named_parameters()[0].second.same(weight_before));
    CHECK_FALSE(dense.named_parameters()[0].second.same(w));  // copied, not aliased
    // y = x W^T + b at x = [1, 1]: [1 + 2 + 0.5, 3 + 4 - 0.5]
    const TensorD y = dense(TensorD({{1.0, 1.0}}));
    CHECK(y.value() == xt::xarray<double>({{3.5, 6.5}}));
    w.mutable_value()(0, 0) = 100.0;
    CHECK(dense.named_parameters()[0].second.value()(0, 0) == 1.0);
}

TEST_CASE("load_state_dict: buffers are loaded too (BatchNorm's running statistics and step count)",
          "[nn][state_dict]") {
    tg::Generator gen(6);
    auto source = dense_bn_dense(gen);
    source->train();
    (*source)(TensorD({{1.0, 2.0, 3.0}, {0.0, -1.0, 2.0}}));  // one step moves the running stats
    auto target = dense_bn_dense(gen);
    target->load_state_dict(source->state_dict());
    CHECK(values_of(*target) == values_of(*source));
    CHECK(target->state_dict().at("1.num_batches_tracked").item() == 1.0);
}

TEST_CASE("load_state_dict: strict refuses missing and unexpected keys by name and changes nothing",
          "[nn][state_dict]") {
    tg::Generator gen(7);
    auto model = dense_bn_dense(gen);
    const auto before = values_of(*model);
    nn::StateDict<double> dict;
    for (const auto& [key, t] : model->state_dict()) {
        if (key != "1.running_var") dict.insert(key, TensorD(xt::xarray<double>(t.value() + 1.0)));
    }
    dict.insert("1.running_varr", TensorD(xt::xarray<double>({1, 1, 1, 1})));
    CHECK_THROWS_MATCHES(model->load_state_dict(dict), tg::ValueError,
                         Says("Sequential") && Says("missing keys: 1.running_var") &&
                             Says("unexpected keys: 1.running_varr") && Says("nothing loaded"));
    CHECK(values_of(*model) == before);
}

TEST_CASE("load_state_dict: a shape mismatch is refused, strict or not, naming the key and both shapes",
          "[nn][state_dict]") {
    tg::Generator gen(8);
    auto model = dense_bn_dense(gen);
    const auto before = values_of(*model);
    nn::StateDict<double> dict;
    for (const auto& [key, t] : model->state_dict())
        dict.insert(key, key == "3.weight" ? TensorD(xt::xarray<double>(xt::zeros<double>({4, 2})))
                                           : TensorD(xt::xarray<double>(t.value() + 1.0)));
    for (bool strict : {true, false}) {
        CHECK_THROWS_MATCHES(model->load_state_dict(dict, strict), tg::ValueError,
                             Says("size mismatch for 3.weight: [4, 2] in the dict, [2, 4] in the module"));
        CHECK(values_of(*model) == before);
    }
}

TEST_CASE("load_state_dict: non-strict loads what matches and returns the missing and unexpected keys",
          "[nn][state_dict]") {
    tg::Generator gen(9);
    auto model = dense_bn_dense(gen);
    const auto before = model->state_dict().at("0.bias").value();
    const auto result = model->load_state_dict(
        {{"0.weight", TensorD(xt::xarray<double>(xt::ones<double>({4, 3})))}, {"head.weight", TensorD(1.0)}}, false);
    CHECK(result.unexpected_keys == std::vector<std::string>{"head.weight"});
    CHECK(result.missing_keys == std::vector<std::string>{"0.bias", "1.weight", "1.bias", "1.running_mean",
                                                          "1.running_var", "1.num_batches_tracked", "3.weight",
                                                          "3.bias"});
    CHECK(model->state_dict().at("0.weight").value() == xt::xarray<double>(xt::ones<double>({4, 3})));
    CHECK(model->state_dict().at("0.bias").value() == before);
}

TEST_CASE("StateDict: keeps insertion order and refuses duplicate keys, undefined tensors and absent keys",
          "[nn][state_dict]") {
    nn::StateDict<float> dict{{"z", tg::Tensor<float>(1.0f)}, {"a", tg::Tensor<float>(2.0f)}};
    CHECK(dict.keys() == std::vector<std::string>{"z", "a"});
    CHECK_THROWS_MATCHES(dict.insert("z", tg::Tensor<float>(3.0f)), tg::ValueError, Says("'z' is already present"));
    CHECK_THROWS_MATCHES(dict.insert("b", tg::Tensor<float>()), tg::ValueError, Says("'b' is undefined"));
    CHECK(dict.size() == 2);
    CHECK(dict.at("z").item() == 1.0f);
    CHECK_THROWS_MATCHES(dict.at("y"), tg::ValueError, Says("no key 'y'") && Says("z, a"));
}
