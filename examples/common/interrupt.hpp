// Ctrl-C and SIGTERM as a request to stop cleanly: the handlers only record the signal; the
// training loop asks at every step and stops where a checkpoint can be written.
#pragma once

namespace examples {

/// Installs the handlers for SIGINT and SIGTERM. Each fires once (SA_RESETHAND): the same signal
/// again gets the default action and ends the process at once.
void install_interrupt_handlers();

/// The first signal received (SIGINT or SIGTERM), or 0. Once one has arrived, both signals get
/// their default action back, so that any second one ends the process at once (an atomic
/// checkpoint save cut short leaves the previous checkpoint intact).
int interrupt_signal();

/// "SIGINT", "SIGTERM".
const char* signal_name(int signal);

}  // namespace examples
