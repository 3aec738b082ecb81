// systemd's service readiness protocol (sd_notify(3)) without libsystemd: one datagram such as
// "READY=1" or "STOPPING=1" to the unix socket named by $NOTIFY_SOCKET (a path, or an abstract
// socket when it starts with '@'). Units of Type=notify wait for READY=1.
#pragma once

#include <string>

#include "common/result.h"

namespace seaweed {

// True when the process runs under a notify-type service manager ($NOTIFY_SOCKET set).
bool notify_socket_set();

// Sends state (e.g. "READY=1\nSTATUS=mounted /mnt") to $NOTIFY_SOCKET; does nothing without it.
Status sd_notify(const std::string& state);

}  // namespace seaweed
