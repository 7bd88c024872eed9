#include "interrupt.hpp"

#include <csignal>

namespace examples {
namespace {

// All a handler may safely do: record which signal came.
volatile std::sig_atomic_t received = 0;

extern "C" void on_signal(int signal) {
    if (received == 0) received = signal;
}

}  // namespace

void install_interrupt_handlers() {
    struct sigaction action = {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);  // one handler at a time: the first signal is the one recorded
    sigaddset(&action.sa_mask, SIGINT);
    sigaddset(&action.sa_mask, SIGTERM);
    // SA_RESTART: file writes in progress are resumed, not failed with EINTR.
    action.sa_flags = SA_RESETHAND | SA_RESTART;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

int interrupt_signal() {
    const int signal = received;
    if (signal != 0) {
        std::signal(SIGINT, SIG_DFL);
        std::signal(SIGTERM, SIG_DFL);
    }
    return signal;
}

const char* signal_name(int signal) {
    return signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "a signal";
}

}  // namespace examples
