#pragma once

/// The step from Beast's parsed request to the router's record: the server
/// takes it for every request, and so does the request fuzz target
/// (tests/fuzz/), so that the router sees from both the same fields.

#include "http/request.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>

namespace regevent {

/// The fields the router reads from the message, the body moved out of
/// `req`; what the connection knows (its client certificate) the server
/// adds.
incoming_request to_incoming(
    boost::beast::http::request<boost::beast::http::string_body>& req,
    std::string request_id, std::string remote);

} // namespace regevent
