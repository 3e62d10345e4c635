#pragma once

/// Every atom and message type of regevent, registered with CAF in one block.

#include "persistence/event.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/type_id.hpp>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace regevent {

/// An HTTP answer produced by an actor for the transport to write.
struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Where an actor delivers the answer to one HTTP request. Implemented by
/// the transport: `reply` may be called from any thread, exactly once.
class reply_sink {
public:
  virtual ~reply_sink() = default;
  virtual void reply(http_response response) = 0;
};

using responder = std::shared_ptr<reply_sink>;

/// A parsed, authenticated notification on its way to the HTTP actor.
struct ingest_request {
  std::vector<event_record> events;
  /// Events in the envelope that were unusable on their own.
  uint32_t ignored = 0;
  responder reply_to;
};

class database;

/// Read-side work for the management API, run by a query actor on its own
/// database connection; the function builds the whole answer.
struct query_request {
  std::function<http_response(database&)> run;
  responder reply_to;
};

} // namespace regevent

// The responder is a local callback; these messages never leave the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::ingest_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::responder)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(regevent::query_request)

CAF_BEGIN_TYPE_ID_BLOCK(regevent, caf::first_custom_type_id)

CAF_ADD_TYPE_ID(regevent, (regevent::event_record))
CAF_ADD_TYPE_ID(regevent, (std::vector<regevent::event_record>))
CAF_ADD_TYPE_ID(regevent, (regevent::status_update))
CAF_ADD_TYPE_ID(regevent, (std::vector<regevent::status_update>))
CAF_ADD_TYPE_ID(regevent, (regevent::dead_letter))
CAF_ADD_TYPE_ID(regevent, (regevent::planned_event))

CAF_ADD_ATOM(regevent, regevent::atom, ingest, "ingest")
CAF_ADD_ATOM(regevent, regevent::atom, append, "append")
CAF_ADD_ATOM(regevent, regevent::atom, finish, "finish")
CAF_ADD_ATOM(regevent, regevent::atom, dead, "dead")
CAF_ADD_ATOM(regevent, regevent::atom, pending, "pending")
CAF_ADD_ATOM(regevent, regevent::atom, flush, "flush")
CAF_ADD_ATOM(regevent, regevent::atom, tick, "tick")
CAF_ADD_ATOM(regevent, regevent::atom, wakeup, "wakeup")
CAF_ADD_ATOM(regevent, regevent::atom, status, "status")
CAF_ADD_ATOM(regevent, regevent::atom, shutdown, "shutdown")
CAF_ADD_ATOM(regevent, regevent::atom, apply, "apply")
CAF_ADD_ATOM(regevent, regevent::atom, get, "get")
CAF_ADD_ATOM(regevent, regevent::atom, retry, "retry")
CAF_ADD_ATOM(regevent, regevent::atom, resolve, "resolve")
CAF_ADD_ATOM(regevent, regevent::atom, query, "query")
CAF_ADD_ATOM(regevent, regevent::atom, replay, "replay")
CAF_ADD_ATOM(regevent, regevent::atom, purge, "purge")

CAF_END_TYPE_ID_BLOCK(regevent)
