// Datasets (normalisation, validation, Fashion-MNIST file names) and the minibatch loader.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

#include <tapegrad/tapegrad.hpp>
#include "autograd/says.hpp"
#include "data/files.hpp"

namespace tg = tapegrad;
using testing::Bytes;
using testing::idx_bytes;

namespace {

/// n images of 2 x 3 pixels where image i is filled with byte i, and labels i % 10.
void write_set(const std::string& images, const std::string& labels, std::size_t n, bool gzip = false) {
    Bytes pixels;
    Bytes classes;
    for (std::size_t i = 0; i < n; ++i) {
        pixels.insert(pixels.end(), 6, static_cast<std::uint8_t>(i));
        classes.push_back(static_cast<std::uint8_t>(i % 10));
    }
    auto put = gzip ? testing::write_gzip : testing::write_plain;
    put(images, idx_bytes({static_cast<std::uint32_t>(n), 2, 3}, pixels));
    put(labels, idx_bytes({static_cast<std::uint32_t>(n)}, classes));
}

tg::data::Dataset<double> counting_set(std::size_t n) {
    testing::TempDir dir;
    write_set(dir.file("i"), dir.file("l"), n);
    return tg::data::load_idx_dataset<double>(dir.file("i"), dir.file("l"));
}

}  // namespace

TEST_CASE("dataset: pixels scaled to [0, 1], then standardised", "[data][dataset]") {
    testing::TempDir dir;
    write_set(dir.file("i"), dir.file("l"), 256);
    const auto plain = tg::data::load_idx_dataset<double>(dir.file("i"), dir.file("l"));
    REQUIRE(plain.images.shape() == std::vector<std::size_t>{256, 6});
    CHECK(plain.features() == 6);
    CHECK(plain.images(0, 0) == 0.0);
    CHECK(plain.images(255, 5) == 1.0);
    CHECK(plain.images(51, 2) == Approx(0.2).epsilon(1e-15));
    CHECK(plain.labels[23] == 3);

    const auto standard = tg::data::load_idx_dataset<float>(dir.file("i"), dir.file("l"), {.mean = 0.5, .std = 0.25});
    CHECK(standard.images(0, 0) == Approx(-2.0f));
    CHECK(standard.images(255, 0) == Approx(2.0f));
    CHECK(standard.images(51, 1) == Approx((0.2f - 0.5f) / 0.25f));
}

TEST_CASE("dataset: limit keeps the first samples", "[data][dataset]") {
    testing::TempDir dir;
    write_set(dir.file("i"), dir.file("l"), 12);
    const auto few = tg::data::load_idx_dataset<float>(dir.file("i"), dir.file("l"), {.limit = 5});
    CHECK(few.size() == 5);
    CHECK(few.images.shape()[0] == 5);
    CHECK(tg::equal(few.labels, tg::Labels{0, 1, 2, 3, 4}));
    CHECK(tg::data::load_idx_dataset<float>(dir.file("i"), dir.file("l"), {.limit = 100}).size() == 12);
}

TEST_CASE("dataset: image and label counts must agree, labels must be classes", "[data][dataset][errors]") {
    testing::TempDir dir;
    write_set(dir.file("i"), dir.file("unused"), 3);
    write_set(dir.file("unused"), dir.file("l"), 2);
    CHECK_THROWS_MATCHES(tg::data::load_idx_dataset<float>(dir.file("i"), dir.file("l")), tg::IoError,
                         Says("holds 3 images") && Says("holds 2 labels") && Says(dir.file("l")));

    write_set(dir.file("i"), dir.file("l"), 12);
    CHECK_THROWS_MATCHES(tg::data::load_idx_dataset<float>(dir.file("i"), dir.file("l"), {.classes = 5}), tg::IoError,
                         Says("label 5 of sample 5 is not below the 5 classes"));
    CHECK_THROWS_MATCHES(tg::data::load_idx_dataset<float>(dir.file("i"), dir.file("l"), {.std = 0}), tg::ValueError,
                         Says("std is 0"));
}

TEST_CASE("Dataset: images and labels must pair one to one", "[data][dataset][errors]") {
    const xt::xarray<float> x = {{0.f, 1.f}, {2.f, 3.f}, {4.f, 5.f}};
    CHECK_THROWS_MATCHES((tg::data::Dataset<float>{x, tg::Labels{0, 1}}), tg::ShapeError,
                         Says("Dataset: 3 images (shape [3, 2]) but 2 labels"));
    CHECK_THROWS_MATCHES((tg::data::Dataset<float>{x, tg::Labels{0, 1, 2, 0}}), tg::ShapeError,
                         Says("Dataset: 3 images") && Says("but 4 labels"));
    CHECK_THROWS_MATCHES((tg::data::Dataset<float>{xt::xarray<float>{1.f, 2.f}, tg::Labels{0, 1}}), tg::ShapeError,
                         Says("Dataset: images have shape [2]; expected N x features"));
    const tg::data::Dataset<float> ok{x, tg::Labels{0, 1, 2}};
    CHECK(ok.size() == 3);
    CHECK(ok.features() == 2);

    // A dataset filled member by member is checked by the loader: when built, and for every batch.
    tg::data::Dataset<float> filled;
    CHECK(filled.size() == 0);
    CHECK(tg::data::DataLoader<float>(filled).size() == 0);
    filled.images = x;
    filled.labels = {0, 1};
    CHECK_THROWS_MATCHES(tg::data::DataLoader<float>(filled), tg::ShapeError,
                         Says("DataLoader: 3 images (shape [3, 2]) but 2 labels"));
    filled.labels = {0, 1, 2};
    tg::data::DataLoader<float> loader(filled, {.batch_size = 2, .shuffle = false});
    CHECK(tg::equal(loader.batch(1).y, tg::Labels{2}));
    filled.labels = {0, 1, 2, 0};
    CHECK_THROWS_MATCHES(loader.batch(0), tg::ShapeError, Says("DataLoader::batch: 3 images") && Says("but 4 labels"));
    filled.images = xt::xarray<float>{{0.f, 1.f}, {2.f, 3.f}, {4.f, 5.f}, {6.f, 7.f}};
    CHECK_THROWS_MATCHES(loader.batch(0), tg::ShapeError,
                         Says("DataLoader::batch: the dataset has 4 samples but had 3 when the loader was built"));
}

TEST_CASE("load_fashion_mnist: finds the gzipped or plain files of each split", "[data][dataset]") {
    testing::TempDir dir;
    write_set(dir.file("train-images-idx3-ubyte.gz"), dir.file("train-labels-idx1-ubyte.gz"), 7, true);
    write_set(dir.file("t10k-images-idx3-ubyte"), dir.file("t10k-labels-idx1-ubyte"), 4, false);
    const auto train = tg::data::load_fashion_mnist<float>(tg::data::Split::Train, dir.path().string(), {});
    const auto test = tg::data::load_fashion_mnist<float>(tg::data::Split::Test, dir.path().string(), {});
    CHECK(train.size() == 7);
    CHECK(test.size() == 4);
    CHECK(train.images(6, 0) == Approx(6.0f / 255));

    testing::TempDir empty;
    CHECK_THROWS_MATCHES(tg::data::load_fashion_mnist<float>(tg::data::Split::Test, empty.path().string()), tg::IoError,
                         Says("t10k-images-idx3-ubyte.gz") && Says(empty.path().string()));
}

TEST_CASE("DataLoader: batches in order, the last one smaller, or dropped", "[data][loader]") {
    const auto data = counting_set(10);
    tg::data::DataLoader<double> loader(data, {.batch_size = 4, .shuffle = false});
    REQUIRE(loader.size() == 3);
    std::vector<std::size_t> sizes;
    std::size_t next = 0;
    for (const auto& [x, y] : loader.epoch()) {
        sizes.push_back(y.numel());
        REQUIRE(x.shape() == tg::Shape{y.numel(), 6});
        for (std::size_t r = 0; r < y.numel(); ++r, ++next) {
            CHECK(y[r] == static_cast<std::int64_t>(next % 10));
            CHECK(x.value()(r, 3) == Approx(next / 255.0));
        }
    }
    CHECK(sizes == std::vector<std::size_t>{4, 4, 2});

    tg::data::DataLoader<double> dropping(data, {.batch_size = 4, .shuffle = false, .drop_last = true});
    CHECK(dropping.size() == 2);
    CHECK_THROWS_MATCHES(dropping.batch(2), tg::ValueError, Says("batch 2 is out of range"));
    CHECK_THROWS_MATCHES(tg::data::DataLoader<double>(data, {.batch_size = 0}), tg::ValueError,
                         Says("batch_size is 0"));
}

TEST_CASE("DataLoader: each epoch a new permutation, the same for the same seed", "[data][loader]") {
    const auto data = counting_set(50);
    auto epochs = [&](std::uint64_t seed) {
        tg::data::DataLoader<double> loader(data, {.batch_size = 8, .seed = seed});
        std::vector<std::vector<std::size_t>> orders;
        for (int e = 0; e < 3; ++e) {
            std::vector<std::size_t> seen;  // sample identity recovered from its pixel value
            for (const auto& [x, y] : loader.epoch())
                for (std::size_t r = 0; r < y.numel(); ++r) seen.push_back(std::lround(x.value()(r, 0) * 255));
            orders.push_back(seen);
        }
        return orders;
    };
    const auto a = epochs(7);
    for (const auto& order : a) {
        std::vector<std::size_t> sorted = order;
        std::sort(sorted.begin(), sorted.end());
        std::vector<std::size_t> all(50);
        std::iota(all.begin(), all.end(), std::size_t{0});
        CHECK(sorted == all);  // every sample exactly once
    }
    CHECK(a[0] != a[1]);
    CHECK(a[1] != a[2]);
    CHECK(epochs(7) == a);
    CHECK(epochs(8) != a);
}
