#pragma once

#include <boost/asio/ip/address.hpp>

#include <memory>
#include <string>
#include <vector>

/// The SSRF guard of outbound webhook requests: which addresses a target may
/// reach. Checked when a policy is written and again after every name
/// resolution at delivery, so that a name that changes its answer
/// (DNS rebinding) is caught where the connection is made.
namespace regevent {

/// Refuses loopback, private, link-local, unique-local, multicast, reserved
/// and cloud metadata addresses unless one of the allow-listed networks
/// (`webhooks.allow_networks`) contains them. IPv4-mapped, IPv4-compatible
/// and NAT64 (64:ff9b::/96) IPv6 addresses are judged as the IPv4 address
/// they carry. Immutable and cheap to copy: share one across threads.
class address_guard {
public:
  /// `allow_networks`: CIDRs ("127.0.0.0/8", "::1/128"); host bits are
  /// ignored. Throws std::invalid_argument naming one that does not parse.
  explicit address_guard(const std::vector<std::string>& allow_networks = {});

  /// Empty when `a` may be reached, else why not: "127.0.0.1 is a loopback
  /// address".
  std::string refusal(const boost::asio::ip::address& a) const;

  /// For a policy being written: resolves `host` (a name or an IP literal,
  /// an IPv6 one without brackets) with the system resolver, blocking the
  /// calling thread, and checks every address. Empty when all may be
  /// reached; else why not, for an operator: the first refused address
  /// and how to allow it ("localhost resolves to 127.0.0.1, a loopback
  /// address; allow it with webhooks.allow_networks"), or that the name
  /// does not resolve.
  std::string host_refusal(const std::string& host) const;

  /// The allow-list, canonical and comma-separated: guards with equal keys
  /// judge every address alike.
  const std::string& key() const {
    return key_;
  }

private:
  struct networks;
  std::shared_ptr<const networks> allow_;
  std::string key_;
};

} // namespace regevent
