#include <tapegrad/data/mapped_file.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <tapegrad/autograd/errors.hpp>

namespace tapegrad::data::detail {

MappedFile::MappedFile(const std::string& path, const char* what) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail<IoError>("{} '{}': cannot open: {}", what, path, std::strerror(errno));
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        ::close(fd);
        fail<IoError>("{} '{}': not a regular file", what, path);
    }
    size_ = static_cast<std::size_t>(info.st_size);
    if (size_ == 0) {  // mmap refuses a length of 0
        ::close(fd);
        return;
    }
    void* map = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    const int error = errno;
    ::close(fd);  // the mapping keeps the file
    if (map == MAP_FAILED) fail<IoError>("{} '{}': cannot map it: {}", what, path, std::strerror(error));
    data_ = static_cast<const unsigned char*>(map);
}

MappedFile::~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<unsigned char*>(data_), size_);
}

}  // namespace tapegrad::data::detail
