// Character corpora (vocabulary, split, training and validation windows), the fortunes reader and
// the unigram/bigram baselines, against texts small enough to check by hand.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <numbers>
#include <random>
#include <string>

#include <tapegrad/tapegrad.hpp>
#include "autograd/says.hpp"
#include "data/files.hpp"

namespace tg = tapegrad;
using tg::data::CharCorpus;

namespace {

void write_text(const std::string& path, const std::string& text) {
    testing::write_plain(path, testing::Bytes(text.begin(), text.end()));
}

/// n random lowercase letters: windows of 8 or more are unique with overwhelming probability.
std::string random_text(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string text;
    for (std::size_t i = 0; i < n; ++i) text.push_back(static_cast<char>('a' + rng() % 26));
    return text;
}

/// Row r of a [rows, block] Indices, decoded.
std::string row(const CharCorpus& corpus, const tg::Indices& ids, std::size_t r) {
    const std::size_t block = ids.shape()[1];
    auto one = xt::xarray<std::int64_t>::from_shape({block});
    std::copy_n(ids.begin() + r * block, block, one.data());
    return corpus.decode(tg::Indices(std::move(one)));
}

}  // namespace

TEST_CASE("CharCorpus: the vocabulary is the sorted distinct bytes and encode/decode round-trip", "[data][text]") {
    const CharCorpus corpus("hello world");
    CHECK(corpus.vocabulary() == " dehlorw");
    CHECK(corpus.vocab_size() == 8);
    const tg::Indices ids = corpus.encode("low");
    CHECK(std::vector<std::int64_t>(ids.begin(), ids.end()) == std::vector<std::int64_t>{4, 5, 7});
    CHECK(corpus.decode(corpus.encode("hello world")) == "hello world");
    CHECK(corpus.tokens().size() == 11);
}

TEST_CASE("CharCorpus: UTF-8 text is kept as bytes", "[data][text]") {
    const std::string text = "caf\xc3\xa9 caf\xc3\xa9";  // "café café"
    const CharCorpus corpus(text);
    CHECK(corpus.vocabulary() == std::string(" acf\xa9\xc3"));  // bytes sorted as unsigned
    CHECK(corpus.size() == text.size());
    CHECK(corpus.decode(corpus.encode(text)) == text);
}

TEST_CASE("CharCorpus: the validation split is the last floor(n * fraction) bytes", "[data][text]") {
    const std::string text = random_text(100, 1);
    const CharCorpus tenth(text);
    CHECK(tenth.train_size() == 90);
    CHECK(tenth.validation_size() == 10);
    const CharCorpus quarter(text.substr(0, 10), "ten", 0.25);
    CHECK(quarter.train_size() == 8);  // floor(2.5) = 2 validation bytes
    CHECK(quarter.validation_size() == 2);
    const CharCorpus none(text, "all", 0.0);
    CHECK(none.train_size() == 100);
    CHECK(none.validation_size() == 0);
}

TEST_CASE("CharCorpus: batch rows are windows of the training split drawn by the generator", "[data][text]") {
    const std::string text = random_text(400, 2);
    const CharCorpus corpus(text);  // train: the first 360 bytes
    const std::string train = text.substr(0, 360);
    tg::Generator gen(7), expected(7);
    const auto batch = corpus.batch(gen, 5, 16);
    CHECK(batch.x.shape() == tg::Shape{5, 16});
    CHECK(batch.y.shape() == tg::Shape{5, 16});
    for (std::size_t r = 0; r < 5; ++r) {
        const std::size_t offset = expected.below(360 - 16);  // the documented draw, row by row
        CHECK(row(corpus, batch.x, r) == train.substr(offset, 16));
        CHECK(row(corpus, batch.y, r) == train.substr(offset + 1, 16));  // y = x shifted by one
    }
    CHECK(gen.below(1000) == expected.below(1000));  // exactly `rows` draws were taken
}

TEST_CASE("CharCorpus: the same seed gives the same batches, another seed others", "[data][text]") {
    const CharCorpus corpus(random_text(1000, 3));
    tg::Generator a(11), b(11), c(12);
    for (int step = 0; step < 3; ++step) {
        const auto ba = corpus.batch(a, 4, 32), bb = corpus.batch(b, 4, 32), bc = corpus.batch(c, 4, 32);
        CHECK(tg::equal(ba.x, bb.x));
        CHECK(tg::equal(ba.y, bb.y));
        CHECK_FALSE(tg::equal(ba.x, bc.x));
    }
}

TEST_CASE("CharCorpus: the smallest training split serves its single window", "[data][text]") {
    const CharCorpus corpus("abcdefgh", "eight", 0.25);  // train "abcdef"
    tg::Generator gen(0);
    const auto batch = corpus.batch(gen, 3, 5);
    for (std::size_t r = 0; r < 3; ++r) {
        CHECK(row(corpus, batch.x, r) == "abcde");
        CHECK(row(corpus, batch.y, r) == "bcdef");
    }
}

TEST_CASE("CharCorpus: validation windows cover every validation target once, in order", "[data][text]") {
    const std::string text = random_text(1000, 4);
    const CharCorpus corpus(text);  // validation: the last 100 bytes, 99 targets
    const std::string validation = text.substr(900);
    const auto batches = corpus.validation_batches(4, 16);  // 6 full windows (96 targets) + one of 3
    REQUIRE(batches.size() == 3);
    CHECK(batches[0].x.shape() == tg::Shape{4, 16});
    CHECK(batches[1].x.shape() == tg::Shape{2, 16});
    CHECK(batches[2].x.shape() == tg::Shape{1, 3});
    std::string inputs, targets;
    for (const auto& b : batches)
        for (std::size_t r = 0; r < b.x.shape()[0]; ++r) {
            inputs += row(corpus, b.x, r);
            targets += row(corpus, b.y, r);
        }
    CHECK(inputs == validation.substr(0, 99));
    CHECK(targets == validation.substr(1));
    // An exact multiple of the block leaves no short window.
    CHECK(CharCorpus(random_text(330, 5), "t", 0.1).validation_batches(2, 8).size() == 2);  // 32 targets
}

TEST_CASE("char baselines: unigram and bigram cross-entropies equal the hand-computed values", "[data][text]") {
    // train "abaab", validation "cab" (8 * 0.375 = 3); V = 3 (c only in validation); targets "a", "b".
    const CharCorpus corpus("abaabcab", "tiny", 0.375);
    REQUIRE(corpus.train_size() == 5);
    // unigram, k = 1: counts a 3, b 2, c 0 over N = 5: p(a) = 4/8, p(b) = 3/8.
    const auto unigram = tg::data::unigram_cross_entropy(corpus);
    CHECK(unigram.nats == Approx((std::log(2.0) + std::log(8.0 / 3.0)) / 2).epsilon(1e-14));
    CHECK(unigram.bits == Approx(unigram.nats / std::numbers::ln2).epsilon(1e-14));
    // bigram, k = 1: pairs ab ba aa ab; p(a | c) = (0 + 1) / (0 + 3), p(b | a) = (2 + 1) / (3 + 3).
    const auto bigram = tg::data::bigram_cross_entropy(corpus);
    CHECK(bigram.nats == Approx((std::log(3.0) + std::log(2.0)) / 2).epsilon(1e-14));
    CHECK(bigram.bits == Approx(std::log2(6.0) / 2).epsilon(1e-14));
    // k = 0.5: p(a) = 3.5/6.5, p(b) = 2.5/6.5; p(a | c) = 0.5/1.5, p(b | a) = 2.5/4.5.
    CHECK(tg::data::unigram_cross_entropy(corpus, 0.5).nats ==
          Approx((std::log(6.5 / 3.5) + std::log(6.5 / 2.5)) / 2).epsilon(1e-14));
    CHECK(tg::data::bigram_cross_entropy(corpus, 0.5).nats ==
          Approx((std::log(3.0) + std::log(4.5 / 2.5)) / 2).epsilon(1e-14));
}

TEST_CASE("read_fortunes: regular files in name order, .dat and symlinks skipped, each ends with a % line",
          "[data][text]") {
    testing::TempDir dir;
    write_text(dir.file("b"), "three");
    write_text(dir.file("a"), "one\n%\ntwo\n%\n");
    write_text(dir.file("a.dat"), std::string("\x00\x00\x00\x02", 4));
    write_text(dir.file("empty"), "");
    std::filesystem::create_symlink(dir.file("a"), dir.file("a.u8"));
    std::filesystem::create_directory(dir.file("off"));
    write_text(dir.file("off/hidden"), "not read\n");
    CHECK(tg::data::read_fortunes(dir.path().string()) == "one\n%\ntwo\n%\nthree\n%\n");
    const auto corpus = tg::data::load_fortunes(dir.path().string(), 0.5);
    CHECK(corpus.size() == 20);
    CHECK(corpus.name() == dir.path().string());
}

TEST_CASE("CharCorpus: errors name the corpus and the sizes", "[data][text][errors]") {
    testing::TempDir dir;
    const std::string missing = dir.file("missing.txt");
    CHECK_THROWS_MATCHES(CharCorpus::from_file(missing), tg::IoError, Says(missing) && Says("cannot open"));
    write_text(dir.file("empty.txt"), "");
    CHECK_THROWS_MATCHES(CharCorpus::from_file(dir.file("empty.txt")), tg::IoError, Says("empty.txt") && Says("empty"));
    CHECK_THROWS_MATCHES(CharCorpus(""), tg::ValueError, Says("empty"));
    CHECK_THROWS_MATCHES(CharCorpus("abc", "t", 1.0), tg::ValueError, Says("validation_fraction"));
    CHECK_THROWS_MATCHES(CharCorpus("abc", "t", -0.1), tg::ValueError, Says("validation_fraction"));

    write_text(dir.file("short.txt"), "abcdefghijk");  // 11 bytes: train 10, validation 1
    const auto corpus = CharCorpus::from_file(dir.file("short.txt"));
    tg::Generator gen(3), untouched(3);
    CHECK_THROWS_MATCHES(corpus.batch(gen, 2, 10), tg::ValueError,
                         Says("short.txt") && Says("10 bytes") && Says("block + 1 = 11"));
    CHECK(gen.below(1000) == untouched.below(1000));  // nothing drawn
    CHECK_THROWS_MATCHES(corpus.batch(gen, 0, 4), tg::ValueError, Says("rows (0)"));
    CHECK_THROWS_MATCHES(corpus.validation_batches(2, 4), tg::ValueError, Says("has 1 bytes"));
    CHECK_THROWS_MATCHES(tg::data::bigram_cross_entropy(corpus), tg::ValueError, Says("validation split of 1"));
    CHECK_THROWS_MATCHES(tg::data::unigram_cross_entropy(CharCorpus("abcdefghij"), 0.0), tg::ValueError,
                         Says("smoothing k"));

    CHECK_THROWS_MATCHES(corpus.encode("abz"), tg::ValueError, Says("byte 122") && Says("position 2"));
    CHECK_THROWS_MATCHES(corpus.decode(tg::Indices{0, 11}), tg::IndexError, Says("token id 11") && Says("[0, 11)"));
    CHECK_THROWS_MATCHES(tg::data::read_fortunes(dir.file("nowhere")), tg::IoError, Says("nowhere"));
    std::filesystem::create_directory(dir.file("indexes"));
    write_text(dir.file("indexes/cookie.dat"), "x");
    CHECK_THROWS_MATCHES(tg::data::read_fortunes(dir.file("indexes")), tg::IoError, Says("no fortune files"));
}

TEST_CASE("load_fortunes: Debian's fortunes corpus, when installed", "[data][text]") {
    if (!std::filesystem::is_directory(tg::data::kFortunesDir)) {
        WARN("fortunes is not installed (scripts/install_deps.sh installs it); not checked");
        return;
    }
    const auto corpus = tg::data::load_fortunes();
    CHECK(corpus.size() > 1'000'000);
    CHECK(corpus.vocabulary().find('%') != std::string::npos);
    CHECK(corpus.vocab_size() > 90);
    CHECK(corpus.validation_size() == corpus.size() / 10);
}
