// A TCP connection owned by the addon on Node's own libuv loop (issue 17).
// JS adopts the descriptor of a connected socket once the handshake is done;
// from then on reads and writes go through libuv directly, not net.Socket.
#pragma once

#include <node_api.h>

namespace wsbolt {

// Defines exports.transport: init, adopt, readStart, readStop, readInto, write, writev,
// pending, publish, fanout, flushPublished, watchFlush, end, destroy, peer, id,
// liveCount. Every function validates its arguments and throws a TypeError
// instead of touching memory it was not given.
void register_transport(napi_env env, napi_value exports);

}  // namespace wsbolt
