#include "http/outbound_port.hpp"

#include "http/address_guard.hpp"
#include "http/client.hpp"

#include <utility>

namespace regevent {

namespace {

class client_port : public outbound_port {
public:
  client_port(std::shared_ptr<outbound_client> client,
              std::shared_ptr<const address_guard> guard)
      : client_(std::move(client)), guard_(std::move(guard)) {}

  void post(outbound_post req,
            std::function<void(outbound_reply)> done) override {
    outbound_request r;
    r.method = "POST";
    r.url = std::move(req.url);
    r.headers = std::move(req.headers);
    r.body = std::move(req.body);
    r.options.total_timeout = req.timeout;
    r.options.connect_timeout
        = std::min(r.options.connect_timeout, req.timeout);
    r.options.handshake_timeout
        = std::min(r.options.handshake_timeout, req.timeout);
    r.options.tls.skip_cert_verify = req.skip_cert_verify;
    r.options.tls.ca_file = std::move(req.ca_file);
    if (req.guarded)
      r.options.guard = guard_;
    // A receiver's answer is read for its status only.
    r.options.body_limit = 64 * 1024;
    client_->send(std::move(r), [done = std::move(done)](outbound_result x) {
      outbound_reply reply;
      reply.latency = x.latency;
      if (x.ok()) {
        reply.status = x.status;
      } else {
        reply.error = std::string(to_string(x.error)) + ": " + x.error_text;
        reply.permanent = x.error == outbound_error::invalid_request
                          || x.error == outbound_error::forbidden_address;
      }
      done(std::move(reply));
    });
  }

private:
  std::shared_ptr<outbound_client> client_;
  std::shared_ptr<const address_guard> guard_;
};

} // namespace

std::shared_ptr<outbound_port>
make_outbound_port(std::shared_ptr<outbound_client> client,
                   std::shared_ptr<const address_guard> guard) {
  return std::make_shared<client_port>(std::move(client), std::move(guard));
}

} // namespace regevent
