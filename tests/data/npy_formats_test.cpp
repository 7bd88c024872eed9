// The .npy reader on files built byte by byte: versions 1.0, 2.0 and 3.0, every header spelling
// NumPy's literal_eval accepts, every dtype converted (both byte orders), Fortran order, and each
// malformed header refused with an IoError naming the file.
#include <catch2/catch.hpp>

#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>
#include "autograd/says.hpp"
#include "data/files.hpp"

namespace tg = tapegrad;
namespace data = tapegrad::data;
using testing::Bytes;

namespace {

// A .npy file of `major`.0 by hand: the dict padded as NumPy pads it (unless `pad` is false), the
// length field 2 bytes for 1.0 and 4 after, then `payload`.
Bytes npy_file(int major, const std::string& dict, const Bytes& payload, bool pad = true) {
    const std::size_t length_size = major == 1 ? 2 : 4;
    std::string header = dict;
    if (pad) {
        header.append((64 - (8 + length_size + header.size() + 1) % 64) % 64, ' ');
        header.push_back('\n');
    }
    Bytes out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<std::uint8_t>(major), 0};
    for (std::size_t i = 0; i < length_size; ++i) out.push_back(static_cast<std::uint8_t>(header.size() >> (8 * i)));
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

// The bytes of `values`, little-endian, or big-endian when `big`.
template <class S>
Bytes bytes_of(const std::vector<S>& values, bool big = false) {
    Bytes out;
    for (const S& v : values) {
        std::uint8_t b[sizeof(S)];
        std::memcpy(b, &v, sizeof(S));
        if (big) std::reverse(b, b + sizeof(S));
        out.insert(out.end(), b, b + sizeof(S));
    }
    return out;
}

std::string dict_of(const std::string& descr, const std::string& shape, bool fortran = false) {
    return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape +
           ", }";
}

template <class T>
xt::xarray<T> parsed(const Bytes& bytes, data::NpyDtypes dtypes = data::NpyDtypes::convert) {
    return data::parse_npy<T>(bytes.data(), bytes.size(), "npy bytes", dtypes);
}

// Reading the file throws IoError naming it and saying `fragment`.
void refused(const Bytes& bytes, const std::string& fragment) {
    testing::TempDir dir;
    const std::string path = dir.file("x.npy");
    testing::write_plain(path, bytes);
    CHECK_THROWS_MATCHES(data::read_npy<double>(path, data::NpyDtypes::convert), tg::IoError,
                         Says("npy file '" + path + "'") && Says(fragment));
}

const Bytes two_floats = bytes_of<float>({1.5f, -2.0f});

}  // namespace

TEST_CASE("read_npy: versions 1.0, 2.0 and 3.0, the length field 2 or 4 bytes", "[data][npy]") {
    for (int major : {1, 2, 3}) {
        testing::TempDir dir;
        testing::write_plain(dir.file("v.npy"), npy_file(major, dict_of("<f4", "(2,)"), two_floats));
        CHECK((data::read_npy<float>(dir.file("v.npy")) == xt::xarray<float>{1.5f, -2.0f}));
        CHECK(data::read_npy_header(dir.file("v.npy")).data_offset % 64 == 0);
    }
}

TEST_CASE("read_npy: a header of 128 bytes or more (its length's high byte set) is read", "[data][npy]") {
    // xtensor's own reader takes the length as one signed char: 200 is no problem here.
    const std::string dict = dict_of("<f4", "(2,)") + std::string(200, ' ');
    const Bytes bytes = npy_file(1, dict, two_floats);
    REQUIRE(bytes[8] + 256 * bytes[9] >= 256);
    CHECK((parsed<float>(bytes) == xt::xarray<float>{1.5f, -2.0f}));
}

TEST_CASE("read_npy: any key order, either quote, spaces, trailing comma or not, (), (5,), (2, 3), 3L", "[data][npy]") {
    const Bytes six = bytes_of<double>({1, 2, 3, 4, 5, 6});
    CHECK((parsed<double>(npy_file(1, "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f8'}", six)) ==
           xt::xarray<double>{{1, 2, 3}, {4, 5, 6}}));
    CHECK((parsed<double>(npy_file(1, R"({"descr":"<f8","shape":(6,),"fortran_order":False})", six)) ==
           xt::xarray<double>{1, 2, 3, 4, 5, 6}));
    CHECK(parsed<double>(npy_file(3, "{ 'fortran_order' : False ,'shape' :( 3 , 2 , ) , 'descr':'<f8' , }", six))
              .shape() == std::vector<std::size_t>{3, 2});
    CHECK(parsed<double>(npy_file(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2L, 3L), }", six)).shape() ==
          std::vector<std::size_t>{2, 3});
    const auto scalar = parsed<double>(npy_file(2, dict_of("<f8", "()"), bytes_of<double>({0.25})));
    CHECK(scalar.dimension() == 0);
    CHECK(scalar() == 0.25);
    CHECK(parsed<double>(npy_file(1, dict_of("<f8", "(0, 3)"), {})).shape() == std::vector<std::size_t>{0, 3});
    // No padding or newline at all: literal_eval does not need them.
    CHECK(parsed<double>(npy_file(1, dict_of("<f8", "(6,)"), six, false)).size() == 6);
}

TEST_CASE("read_npy: Fortran order is transposed into row-major", "[data][npy]") {
    // np.asfortranarray([[1, 2, 3], [4, 5, 6]]) stores the columns: 1 4 2 5 3 6.
    const Bytes columns = bytes_of<double>({1, 4, 2, 5, 3, 6});
    const auto a = parsed<double>(npy_file(1, dict_of("<f8", "(2, 3)", true), columns), data::NpyDtypes::exact);
    CHECK((a == xt::xarray<double>{{1, 2, 3}, {4, 5, 6}}));
    // 3-d: element (i, j, k) at i + 2 j + 4 k.
    std::vector<double> stored(2 * 2 * 3);
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 2; ++j)
            for (std::size_t k = 0; k < 3; ++k) stored[i + 2 * j + 4 * k] = 100.0 * i + 10.0 * j + k;
    const auto b = parsed<float>(npy_file(1, dict_of(">f8", "(2, 2, 3)", true), bytes_of(stored, true)));
    REQUIRE(b.shape() == std::vector<std::size_t>{2, 2, 3});
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 2; ++j)
            for (std::size_t k = 0; k < 3; ++k) CHECK(b(i, j, k) == 100.0f * i + 10.0f * j + k);
    // 1-d and 0-d Fortran arrays are the same bytes as C order.
    CHECK((parsed<float>(npy_file(1, dict_of("<f4", "(2,)", true), two_floats)) == xt::xarray<float>{1.5f, -2.0f}));
}

TEST_CASE("read_npy: every numeric dtype converted exactly, little- and big-endian", "[data][npy]") {
    for (const bool big : {false, true}) {
        const std::string o = big ? ">" : "<";
        CHECK((parsed<double>(npy_file(1, dict_of(o + "f8", "(2,)"), bytes_of<double>({0.1, -1e300}, big))) ==
               xt::xarray<double>{0.1, -1e300}));
        CHECK((parsed<double>(npy_file(1, dict_of(o + "f4", "(2,)"), bytes_of<float>({0.1f, -3e38f}, big))) ==
               xt::xarray<double>{double(0.1f), double(-3e38f)}));
        // binary16: 1.5, the smallest subnormal 2^-24, the largest 65504, -infinity.
        const auto h = parsed<double>(
            npy_file(1, dict_of(o + "f2", "(4,)"), bytes_of<std::uint16_t>({0x3e00, 0x0001, 0x7bff, 0xfc00}, big)));
        CHECK(h(0) == 1.5);
        CHECK(h(1) == std::ldexp(1.0, -24));
        CHECK(h(2) == 65504.0);
        CHECK(h(3) == -std::numeric_limits<double>::infinity());
        CHECK((parsed<double>(npy_file(1, dict_of(o + "i2", "(2,)"), bytes_of<std::int16_t>({-300, 32767}, big))) ==
               xt::xarray<double>{-300, 32767}));
        CHECK((parsed<double>(npy_file(1, dict_of(o + "i4", "(2,)"), bytes_of<std::int32_t>({-70000, 5}, big))) ==
               xt::xarray<double>{-70000, 5}));
        CHECK((parsed<double>(npy_file(1, dict_of(o + "i8", "(2,)"),
                                       bytes_of<std::int64_t>({-(std::int64_t{1} << 53), 7}, big))) ==
               xt::xarray<double>{-std::ldexp(1.0, 53), 7}));
        CHECK((parsed<double>(npy_file(1, dict_of(o + "u2", "(1,)"), bytes_of<std::uint16_t>({65535}, big))) ==
               xt::xarray<double>{65535}));
        CHECK((parsed<double>(npy_file(1, dict_of(o + "u4", "(1,)"), bytes_of<std::uint32_t>({4000000000u}, big))) ==
               xt::xarray<double>{4000000000.0}));
        CHECK((parsed<float>(npy_file(1, dict_of(o + "u8", "(1,)"), bytes_of<std::uint64_t>({1u << 24}, big))) ==
               xt::xarray<float>{16777216.0f}));
    }
    CHECK((parsed<float>(npy_file(1, dict_of("|i1", "(3,)"), Bytes{0x80, 0x7f, 0xff})) ==
           xt::xarray<float>{-128, 127, -1}));
    CHECK((parsed<float>(npy_file(1, dict_of("|u1", "(2,)"), Bytes{0, 255})) == xt::xarray<float>{0, 255}));
    CHECK((parsed<float>(npy_file(1, dict_of("|b1", "(3,)"), Bytes{1, 0, 1})) == xt::xarray<float>{1, 0, 1}));
    CHECK((parsed<float>(npy_file(1, dict_of("=f4", "(2,)"), two_floats), data::NpyDtypes::exact) ==
           xt::xarray<float>{1.5f, -2.0f}));
    // float64 into float rounds to nearest, as a cast does.
    CHECK(parsed<float>(npy_file(1, dict_of("<f8", "(1,)"), bytes_of<double>({0.1})))(0) == 0.1f);
}

TEST_CASE("read_npy: integers T cannot hold exactly are refused with ValueError, naming the element",
          "[data][npy][errors]") {
    const Bytes i8 = npy_file(1, dict_of("<i8", "(2,)"), bytes_of<std::int64_t>({1, (std::int64_t{1} << 53) + 1}));
    CHECK_THROWS_MATCHES(parsed<double>(i8), tg::ValueError, Says("npy bytes (<i8): element 1 is 9007199254740993"));
    const Bytes u4 = npy_file(1, dict_of(">u4", "(1,)"), bytes_of<std::uint32_t>({(1u << 24) + 1}, true));
    CHECK_THROWS_MATCHES(parsed<float>(u4), tg::ValueError, Says("float32 cannot hold exactly"));
    CHECK(parsed<double>(u4)(0) == 16777217.0);
}

TEST_CASE("read_npy: dtypes tapegrad does not read are refused by name", "[data][npy][errors]") {
    const auto dtype_refused = [](const std::string& dict, const std::string& fragment) {
        refused(npy_file(1, dict, Bytes(16)), fragment);
    };
    dtype_refused(dict_of("<c8", "(2,)"), "dtype '<c8' is complex");
    dtype_refused(dict_of("|O", "(2,)"), "object");
    dtype_refused(dict_of("<U2", "(2,)"), "a string type");
    dtype_refused(dict_of("|S8", "(2,)"), "a string type");
    dtype_refused(dict_of("|V16", "(1,)"), "void");
    dtype_refused(dict_of("<M8", "(2,)"), "a date or time type");
    dtype_refused(dict_of("<f16", "(1,)"), "not one of f2 f4 f8");
    dtype_refused(dict_of("|f4", "(4,)"), "a multi-byte type with no byte order");
    dtype_refused(dict_of("f4", "(4,)"), "not a NumPy type string");
    dtype_refused("{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': False, 'shape': (2,), }",
                  "a structured dtype");
    refused(npy_file(1, dict_of("|b1", "(2,)"), Bytes{1, 2}), "(|b1): byte 1 is 2, not 0 or 1");
}

TEST_CASE("read_npy: malformed headers are refused, naming the file", "[data][npy][errors]") {
    refused({}, "not a .npy file");
    refused(Bytes{0x93, 'N', 'U', 'M', 'P', 'Y', 4, 0, 0, 0}, "version 4.0");
    refused(Bytes{0x93, 'N', 'U', 'M', 'P', 'Y', 1, 1, 0, 0}, "version 1.1");
    refused(Bytes{0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0}, "truncated header");
    Bytes huge = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0xff, 0xff, 0xff, 0xff, '{'};
    refused(huge, "truncated header (4294967295 bytes declared");
    refused(npy_file(1, "{'descr': '<f4', 'shape': (2,), }", two_floats), "has no 'fortran_order'");
    refused(npy_file(1, "{'descr': '<f4', 'fortran_order': False, }", two_floats), "has no 'shape'");
    refused(npy_file(1, dict_of("<f4", "(2,)") + "x", two_floats), "text after the closing brace");
    refused(npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", two_floats),
            "unexpected key 'extra'");
    refused(npy_file(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", two_floats),
            "the key 'descr' is given twice");
    refused(npy_file(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", two_floats),
            "fortran_order is not True or False");
    refused(npy_file(1, "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2,)}", two_floats), "unexpected 'F'");
    refused(npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", two_floats),
            "the shape is not a tuple");
    refused(npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 'a')}", two_floats),
            "the shape holds something other than an integer");
    refused(npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,-1)}", two_floats), "a negative number");
    refused(npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551616,)}", two_floats),
            "does not fit in 64 bits");
    refused(npy_file(1, "{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", two_floats), "'}' expected");
    refused(npy_file(1, "{'descr': 'a\\nb', 'fortran_order': False, 'shape': (2,)}", two_floats), "escape sequences");
    refused(npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,", two_floats, false), "ends inside");
    refused(
        npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': " + std::string(40, '(') + "2,)}", two_floats),
        "nested deeper than 16 levels");
    refused(npy_file(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), '\xc3\xa9': 1}", two_floats),
            "byte 0xc3");
    refused(npy_file(1, std::string("{'descr': '<f4',\0 'fortran_order': False, 'shape': (2,)}", 56), two_floats),
            "byte 0x00");
    refused(npy_file(1, dict_of("<f4", "(4294967296, 4294967296, 8)"), two_floats), "too large; the header is corrupt");
    refused(npy_file(1, dict_of("<f4", "(3,)"), two_floats), "truncated for shape [3]");
    refused(npy_file(1, dict_of("<f4", "(1,)"), two_floats), "extra bytes for shape [1]: 4 bytes of data expected, 8");
}

TEST_CASE("write_npy: version 2.0 only when the header needs more than 65535 bytes, as NumPy does", "[data][npy]") {
    // 16 ones make a short header (1.0); 22000 ones a header of 66000 bytes (2.0).
    for (const std::size_t dims : {16, 22000}) {
        testing::TempDir dir;
        const std::string path = dir.file("d.npy");
        const xt::xarray<double> a = xt::ones<double>(std::vector<std::size_t>(dims, 1));
        data::write_npy<double>(path, a);
        const Bytes bytes = testing::read_all(path);
        CHECK(int(bytes[6]) == (dims > 16 ? 2 : 1));
        const data::NpyHeader header = data::read_npy_header(path);
        CHECK(header.data_offset % 64 == 0);
        CHECK(header.shape.size() == dims);
        CHECK(bytes.size() == header.data_offset + sizeof(double));
        CHECK(data::read_npy<double>(path).dimension() == dims);
    }
}
