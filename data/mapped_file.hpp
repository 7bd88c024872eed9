// A whole file mapped read-only (POSIX mmap), for readers that check a format in place without
// copying it (npz.cpp). Internal to data/*.cpp.
#pragma once

#include <cstddef>
#include <string>

namespace tapegrad::data::detail {

/// The bytes of a regular file, mapped read-only for the object's lifetime. A file truncated by
/// another process while it is mapped makes a read of the lost pages fail with SIGBUS (mmap's
/// nature).
class MappedFile {
public:
    /// Opens and maps `path`; IoError "<what> '<path>': ..." when it cannot be opened, is not a
    /// regular file or cannot be mapped. An empty file maps to no bytes.
    MappedFile(const std::string& path, const char* what);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const unsigned char* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }

private:
    const unsigned char* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace tapegrad::data::detail
