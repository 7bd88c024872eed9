// .npz: the reader on archives built byte by byte (stored, deflated, ZIP64), every structural rule
// broken once, the writer's bytes and round trips (ZIP64 forced through a small limit).
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>
#include "autograd/says.hpp"
#include "data/files.hpp"
#include "data/zip_files.hpp"

namespace tg = tapegrad;
namespace data = tapegrad::data;
using testing::ZipBytes;
using testing::ZipMember;

namespace {

struct Archive {
    testing::TempDir dir;
    std::string path = dir.file("a.npz");
    explicit Archive(const ZipBytes& bytes) { testing::write_plain(path, bytes); }
};

// np.savez(path, a=np.array([[1.5, -2], [3, 0.1]]), n=np.array([7, -8], dtype=np.int64)) as NumPy
// lays the members out.
ZipMember member_a(bool deflate = false, bool zip64 = false) {
    return {"a.npy",
            testing::npy_of("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
                            testing::le_bytes<double>({1.5, -2, 3, 0.1})),
            deflate, zip64};
}
ZipMember member_n(bool deflate = false, bool zip64 = false) {
    return {"n.npy",
            testing::npy_of("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
                            testing::le_bytes<std::int64_t>({7, -8})),
            deflate, zip64};
}

void check_a_and_n(const std::string& path) {
    const data::NpzFile file(path);
    REQUIRE(file.entries().size() == 2);
    CHECK(file.entries()[0].key == "a");
    CHECK(file.entries()[0].member == "a.npy");
    CHECK(file.entries()[1].key == "n");
    CHECK(file.contains("n"));
    CHECK_FALSE(file.contains("n.npy"));
    CHECK((file.load<double>("a").value() == xt::xarray<double>{{1.5, -2}, {3, 0.1}}));
    CHECK((file.load<float>("a").value() == xt::xarray<float>{{1.5f, -2}, {3, 0.1f}}));
    CHECK((file.load<float>("n").value() == xt::xarray<float>{7, -8}));
}

// Opening (or, with `key`, loading) throws IoError naming the file and saying `fragment`.
void refused(const ZipBytes& bytes, const std::string& fragment, const std::string& key = "") {
    Archive f(bytes);
    const auto open_and_load = [&] {
        const data::NpzFile file(f.path);
        if (!key.empty()) file.load<double>(key);
    };
    CHECK_THROWS_MATCHES(open_and_load(), tg::IoError, Says("npz '" + f.path + "'") && Says(fragment));
}

template <class U>
void poke(ZipBytes& bytes, std::size_t at, U v) {
    for (std::size_t i = 0; i < sizeof(U); ++i) bytes[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

}  // namespace

TEST_CASE("NpzFile: stored members, keys without .npy, any dtype converted", "[data][npz]") {
    Archive f(testing::zip_of({member_a(), member_n()}).bytes);
    check_a_and_n(f.path);
    const auto all = data::read_npz<double>(f.path);
    REQUIRE(all.size() == 2);
    CHECK(all[1].first == "n");
}

TEST_CASE("NpzFile: deflated members (np.savez_compressed)", "[data][npz]") {
    const auto zip = testing::zip_of({member_a(true), member_n(true)});
    Archive f(zip.bytes);
    CHECK(data::NpzFile(f.path).entries()[0].method == 8);
    check_a_and_n(f.path);
}

TEST_CASE("NpzFile: ZIP64 extra fields and the ZIP64 end record and locator", "[data][npz]") {
    Archive both(testing::zip_of({member_a(false, true), member_n(true, true)}, true).bytes);
    check_a_and_n(both.path);
    Archive end_only(testing::zip_of({member_a(), member_n()}, true).bytes);
    check_a_and_n(end_only.path);
    Archive members_only(testing::zip_of({member_a(true, true), member_n(false, true)}).bytes);
    check_a_and_n(members_only.path);
}

TEST_CASE("NpzFile: an archive comment after the end record, and an empty archive", "[data][npz]") {
    ZipBytes bytes = testing::zip_of({member_a()}).bytes;
    poke<std::uint16_t>(bytes, bytes.size() - 2, 5);
    for (char c : std::string("hello")) bytes.push_back(static_cast<std::uint8_t>(c));
    Archive f(bytes);
    CHECK(data::NpzFile(f.path).entries().size() == 1);
    Archive empty(testing::zip_of({}).bytes);
    CHECK(data::read_npz<float>(empty.path).empty());
}

TEST_CASE("NpzFile: malformed archives are refused naming the file (and the member)", "[data][npz][errors]") {
    const auto zip = testing::zip_of({member_a(), member_n()});
    const ZipBytes good = zip.bytes;
    SECTION("not a ZIP, or cut") {
        refused(ZipBytes(100, 7), "not a ZIP archive");
        refused(ZipBytes(good.begin(), good.end() - 1), "not a ZIP archive");
        refused({}, "not a ZIP archive");
    }
    SECTION("a CRC-32 that does not match") {
        ZipBytes bytes = good;
        bytes[zip.data[0] + 80] ^= 1;  // in the data of a
        refused(bytes, "member 'a.npy': CRC-32 mismatch", "a");
    }
    SECTION("two members giving the same key") {
        ZipMember again = member_a();
        again.name = "a";
        refused(testing::zip_of({member_a(), again}).bytes, "member 'a' gives the key 'a'");
        refused(testing::zip_of({member_a(), member_a()}).bytes, "member 'a.npy' gives the key 'a'");
    }
    SECTION("an encrypted member") {
        ZipBytes bytes = good;
        poke<std::uint16_t>(bytes, zip.central[1] + 8, 1);
        refused(bytes, "member 'n.npy' is encrypted");
    }
    SECTION("another compression method") {
        ZipBytes bytes = good;
        poke<std::uint16_t>(bytes, zip.central[0] + 10, 12);
        refused(bytes, "member 'a.npy': compression method 12");
    }
    SECTION("a local header offset past the data, or no local header there") {
        ZipBytes bytes = good;
        poke<std::uint32_t>(bytes, zip.central[1] + 42, 0xfffffff0);
        refused(bytes, "member 'n.npy': its local header offset 4294967280 is not before the central directory");
        bytes = good;
        poke<std::uint32_t>(bytes, zip.central[1] + 42, 4);
        refused(bytes, "member 'n.npy': no local header at offset 4");
    }
    SECTION("a local header naming another member") {
        ZipBytes bytes = good;
        bytes[zip.local[1] + 30] = 'm';
        refused(bytes, "member 'n.npy': its local header names another member");
    }
    SECTION("sizes that lie") {
        ZipBytes bytes = good;
        poke<std::uint32_t>(bytes, zip.central[1] + 20, 100000);
        poke<std::uint32_t>(bytes, zip.central[1] + 24, 100000);
        refused(bytes, "member 'n.npy': its 100000 bytes from offset");
        bytes = good;
        poke<std::uint32_t>(bytes, zip.central[0] + 24, 7);
        refused(bytes, "member 'a.npy' is stored, yet declares 160 bytes in the archive and 7 uncompressed");
    }
    SECTION("a declared size beyond deflate's ratio") {
        const auto deflated = testing::zip_of({member_a(true)});
        ZipBytes bytes = deflated.bytes;
        poke<std::uint32_t>(bytes, deflated.central[0] + 24, 0xfffffff0);
        refused(bytes, "beyond deflate's 1032:1");
    }
    SECTION("deflated data that inflates to more or fewer bytes than declared, or is corrupt") {
        const auto deflated = testing::zip_of({member_a(true)});
        ZipBytes bytes = deflated.bytes;
        poke<std::uint32_t>(bytes, deflated.central[0] + 24, 159);
        refused(bytes, "inflates to more than the 159 bytes declared", "a");
        bytes = deflated.bytes;
        poke<std::uint32_t>(bytes, deflated.central[0] + 24, 161);
        refused(bytes, "inflates to 160 bytes, 161 declared", "a");
        bytes = deflated.bytes;
        std::uint32_t size;
        std::memcpy(&size, bytes.data() + deflated.central[0] + 20, 4);
        poke<std::uint32_t>(bytes, deflated.central[0] + 20, size - 10);
        refused(bytes, "its deflate data is cut", "a");
        bytes = deflated.bytes;
        bytes[deflated.data[0]] = 0xff;  // a reserved block type
        refused(bytes, "corrupt deflate data", "a");
    }
    SECTION("two members sharing their bytes (a zip bomb's trick)") {
        // a's stored bytes are n's local header and data; the directory's n points inside them.
        const auto inner = testing::zip_of({member_n()});
        const ZipBytes local_n(inner.bytes.begin(),
                               inner.bytes.begin() + static_cast<std::ptrdiff_t>(inner.central[0]));
        const auto outer = testing::zip_of({{"a.npy", local_n}, member_n()});
        ZipBytes bytes = outer.bytes;
        poke<std::uint32_t>(bytes, outer.central[1] + 42, static_cast<std::uint32_t>(outer.data[0]));
        refused(bytes, "members 'a.npy' and 'n.npy' overlap");
    }
    SECTION("an archive split over disks") {
        ZipBytes bytes = good;
        poke<std::uint16_t>(bytes, zip.end + 4, 1);
        refused(bytes, "split over several disks");
    }
    SECTION("more entries than the central directory holds, fewer, or a directory that misses the end record") {
        ZipBytes bytes = good;
        poke<std::uint16_t>(bytes, zip.end + 10, 3);
        poke<std::uint16_t>(bytes, zip.end + 8, 3);
        refused(bytes, "declares 3 members, but its central directory of 102 bytes holds at most 2");
        poke<std::uint16_t>(bytes, zip.end + 10, 60000);
        poke<std::uint16_t>(bytes, zip.end + 8, 60000);
        refused(bytes, "declares 60000 members");
        bytes = good;
        poke<std::uint32_t>(bytes, zip.end + 16, static_cast<std::uint32_t>(zip.central[1]));
        refused(bytes, "does not end where the end record begins");
        bytes = good;
        poke<std::uint16_t>(bytes, zip.end + 10, 1);
        poke<std::uint16_t>(bytes, zip.end + 8, 1);
        refused(bytes, "bytes after its 1 entries");
    }
    SECTION("a ZIP64 extra field that lacks a field, a locator pointing nowhere") {
        auto z64 = testing::zip_of({member_a(false, true)}, true);
        ZipBytes bytes = z64.bytes;
        poke<std::uint16_t>(bytes, z64.central[0] + 46 + 5 + 2, 16);               // the field's size: offset left out
        poke<std::uint16_t>(bytes, z64.central[0] + 46 + 5 + 2 + 2 + 16, 0x6666);  // what remains: another field
        poke<std::uint16_t>(bytes, z64.central[0] + 46 + 5 + 2 + 2 + 18, 4);
        refused(bytes, "its ZIP64 extra field lacks the local header offset");
        bytes = z64.bytes;
        poke<std::uint64_t>(bytes, z64.end - 20 + 8, 3);
        refused(bytes, "no ZIP64 end record at offset 3");
    }
    SECTION("a member that is not a .npy file, or not one inside") {
        refused(testing::zip_of({{"notes.txt", {'h', 'i'}}}).bytes, "member 'notes.txt': not a .npy member",
                "notes.txt");
        refused(testing::zip_of({{"x.npy", {'h', 'i'}}}).bytes, "member 'x.npy': not a .npy file", "x");
    }
}

TEST_CASE("write_npz: np.savez's layout, stored or deflated, read back bit for bit", "[data][npz]") {
    testing::TempDir dir;
    const tg::Tensor<double> w(xt::xarray<double>{{0.1, -1e300}, {3, 4}});
    const tg::Tensor<double> s(xt::xarray<double>(2.5));
    const tg::Tensor<double> e(xt::xarray<double>::from_shape({0, 3}));
    const data::NamedTensors<double> tensors = {{"w", w}, {"scalar", s}, {"empty", e}};
    for (const bool compressed : {false, true}) {
        const std::string path = dir.file(compressed ? "c.npz" : "s.npz");
        data::write_npz(path, tensors, compressed);
        const ZipBytes bytes = testing::read_all(path);
        REQUIRE(bytes.size() > 30);
        CHECK(ZipBytes(bytes.begin(), bytes.begin() + 4) == ZipBytes{'P', 'K', 3, 4});
        CHECK(int(bytes[8]) == (compressed ? 8 : 0));  // the first member's method
        CHECK(std::string(bytes.begin() + 30, bytes.begin() + 35) == "w.npy");
        if (!compressed) {  // a stored member is the .npy file itself
            const auto npy = data::parse_npy<double>(bytes.data() + 35, 128 + 32, "member");
            CHECK((npy == w.value()));
        }
        const data::NpzFile file(path);
        REQUIRE(file.entries().size() == 3);
        CHECK(file.entries()[1].key == "scalar");
        CHECK((file.load<double>("w").value() == w.value()));
        CHECK(file.load<double>("scalar").value()() == 2.5);
        CHECK(file.load<double>("empty").shape() == tg::Shape{0, 3});
    }
    data::write_npz<float>(dir.file("f.npz"), {{"x", tg::Tensor<float>({0.1f, 3.f})}});
    CHECK((data::read_npz<float>(dir.file("f.npz"))[0].second.value() == xt::xarray<float>{0.1f, 3.f}));
}

TEST_CASE("write_npz: ZIP64 records where sizes and offsets reach the limit (forced small here)", "[data][npz]") {
    testing::TempDir dir;
    const data::NamedTensors<double> tensors = {{"a", tg::Tensor<double>({1.0, 2.0})},
                                                {"b", tg::Tensor<double>({{3.0, 4.0}})}};
    for (const bool compressed : {false, true}) {
        const std::string path = dir.file("z.npz");
        data::detail::write_npz(path, tensors, compressed, 0);
        const ZipBytes bytes = testing::read_all(path);
        // The ZIP64 end record's and locator's signatures, then the end record.
        const auto find = [&](std::uint32_t sig) {
            for (std::size_t i = 0; i + 4 <= bytes.size(); ++i) {
                std::uint32_t v;
                std::memcpy(&v, bytes.data() + i, 4);
                if (v == sig) return true;
            }
            return false;
        };
        CHECK(find(0x06064b50));
        CHECK(find(0x07064b50));
        // The local header's sizes are all ones, their values in the extra field (id 1).
        std::uint32_t size32;
        std::memcpy(&size32, bytes.data() + 18, 4);
        CHECK(size32 == 0xffffffff);
        CHECK(bytes[28] == 20);
        CHECK(bytes[30 + 5] == 1);
        const auto back = data::read_npz<double>(path);
        REQUIRE(back.size() == 2);
        CHECK((back[1].second.value() == xt::xarray<double>{{3.0, 4.0}}));
    }
    // With a limit between the sizes, only the large member gets ZIP64 fields.
    data::detail::write_npz(dir.file("m.npz"), tensors, false, 140);
    CHECK(data::read_npz<double>(dir.file("m.npz")).size() == 2);
}

TEST_CASE("write_npz: bad names and undefined tensors are refused before anything is written", "[data][npz][errors]") {
    testing::TempDir dir;
    const std::string path = dir.file("x.npz");
    const tg::Tensor<float> t({1.f});
    CHECK_THROWS_MATCHES(data::write_npz<float>(path, {{"", t}}), tg::ValueError, Says("an empty name"));
    CHECK_THROWS_MATCHES(data::write_npz<float>(path, {{"t", t}, {"t", t}}), tg::ValueError,
                         Says("the name 't' is given twice"));
    CHECK_THROWS_MATCHES(data::write_npz<float>(path, {{"u", tg::Tensor<float>()}}), tg::ValueError,
                         Says("tensor 'u' is undefined"));
    CHECK_THROWS_MATCHES(data::write_npz<float>(path, {{std::string(70000, 'x'), t}}), tg::ValueError,
                         Says("a name of 70000 bytes is longer than ZIP allows"));
    CHECK_FALSE(std::filesystem::exists(path));
    CHECK(std::filesystem::is_empty(dir.path()));
}
