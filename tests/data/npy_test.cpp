// The .npy writer against the format's bytes, and the reader's checks.
#include <catch2/catch.hpp>

#include <cstring>

#include <tapegrad/tapegrad.hpp>
#include "autograd/says.hpp"
#include "data/files.hpp"

namespace tg = tapegrad;
using testing::Bytes;

namespace {

std::string header_text(const Bytes& bytes) {
    const std::size_t length = bytes[8] | (bytes[9] << 8);
    return std::string(bytes.begin() + 10, bytes.begin() + 10 + static_cast<std::ptrdiff_t>(length));
}

/// A .npy file written by hand, as NumPy would (for headers the writer never produces).
Bytes npy_by_hand(const std::string& dict, const Bytes& data) {
    std::string header = dict;
    header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
    header.push_back('\n');
    Bytes out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<std::uint8_t>(header.size()), 0};
    for (char c : header) out.push_back(static_cast<std::uint8_t>(c));
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

}  // namespace

TEST_CASE("write_npy: NumPy's version 1.0 bytes", "[data][npy]") {
    testing::TempDir dir;
    xt::xarray<float> a = {{1.5f, -2.f, 3.f}, {4.f, 5.f, 6.25f}};
    tg::data::write_npy<float>(dir.file("a.npy"), a);
    const Bytes bytes = testing::read_all(dir.file("a.npy"));
    REQUIRE(bytes.size() > 10);
    CHECK(Bytes(bytes.begin(), bytes.begin() + 8) == Bytes{0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
    const std::string header = header_text(bytes);
    CHECK((10 + header.size()) % 64 == 0);
    CHECK(header.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 0) == 0);
    CHECK(header.back() == '\n');
    REQUIRE(bytes.size() == 10 + header.size() + 6 * sizeof(float));
    float data[6];
    std::memcpy(data, bytes.data() + 10 + header.size(), sizeof data);
    CHECK(std::vector<float>(data, data + 6) == std::vector<float>{1.5f, -2.f, 3.f, 4.f, 5.f, 6.25f});

    tg::data::write_npy<double>(dir.file("v.npy"), xt::xarray<double>{1, 2, 3, 4, 5});
    CHECK(header_text(testing::read_all(dir.file("v.npy"))).find("'descr': '<f8'") != std::string::npos);
    CHECK(header_text(testing::read_all(dir.file("v.npy"))).find("'shape': (5,)") != std::string::npos);
    tg::data::write_npy<double>(dir.file("s.npy"), xt::xarray<double>(2.5));
    CHECK(header_text(testing::read_all(dir.file("s.npy"))).find("'shape': ()") != std::string::npos);
}

TEST_CASE("read_npy: reads what NumPy writes, 0-d to 3-d", "[data][npy]") {
    testing::TempDir dir;
    Bytes data(2 * 2 * 1 * sizeof(double));
    const double values[4] = {0.5, -1, 1e300, 3};
    std::memcpy(data.data(), values, sizeof values);
    // NumPy's own spacing, with no trailing comma before the brace and 2.0's bigger length field unused.
    testing::write_plain(dir.file("n.npy"),
                         npy_by_hand("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2, 1), }", data));
    const auto a = tg::data::read_npy<double>(dir.file("n.npy"));
    REQUIRE(a.shape() == std::vector<std::size_t>{2, 2, 1});
    CHECK(a(1, 0, 0) == 1e300);

    tg::data::write_npy<float>(dir.file("s.npy"), xt::xarray<float>(7.f));
    const auto s = tg::data::read_npy<float>(dir.file("s.npy"));
    CHECK(s.dimension() == 0);
    CHECK(s() == 7.f);
}

TEST_CASE("read_npy: foreign, mistyped, cut and extended files are refused", "[data][npy][errors]") {
    testing::TempDir dir;
    const std::string path = dir.file("x.npy");
    tg::data::write_npy<float>(path, xt::xarray<float>{{1, 2}, {3, 4}});
    const Bytes good = testing::read_all(path);
    auto refused = [&](const Bytes& bytes, const std::string& fault) {
        testing::write_plain(path, bytes);
        CHECK_THROWS_MATCHES(tg::data::read_npy<float>(path), tg::IoError, Says(path) && Says(fault));
    };
    SECTION("foreign") {
        refused(testing::idx_bytes({4}, Bytes(4)), "not a .npy file");
    }
    SECTION("cut data") {
        refused(Bytes(good.begin(), good.end() - 1), "truncated for shape [2, 2]");
    }
    SECTION("cut header") {
        refused(Bytes(good.begin(), good.begin() + 30), "truncated header");
    }
    SECTION("extra bytes") {
        Bytes bytes = good;
        bytes.push_back(0);
        refused(bytes, "extra bytes for shape [2, 2]: 16 bytes of data expected, 17 present");
    }
    SECTION("another dtype") {
        tg::data::write_npy<double>(path, xt::xarray<double>{{1, 2}, {3, 4}});
        CHECK_THROWS_MATCHES(tg::data::read_npy<float>(path), tg::IoError,
                             Says("dtype '<f8', expected '<f4' (float32)"));
    }
    SECTION("big-endian, without NpyDtypes::convert") {
        refused(npy_by_hand("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", Bytes(16)), "dtype '>f4'");
    }
    SECTION("a shape that is a list") {
        refused(npy_by_hand("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 2], }", Bytes(16)),
                "the shape is not a tuple");
    }
    SECTION("missing") {
        CHECK_THROWS_MATCHES(tg::data::read_npy<float>(dir.file("none.npy")), tg::IoError, Says("cannot open"));
    }
}
