#include "launcher/stop_signal.h"

#include <csignal>

namespace nnfleet::launcher {
namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs a lock-free flag");

extern "C" void request_stop(int) { g_stop.store(true); }

}  // namespace

const std::atomic<bool>* install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
  return &g_stop;
}

}  // namespace nnfleet::launcher
