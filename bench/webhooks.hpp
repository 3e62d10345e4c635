#pragma once

#include "bench/check.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace regevent::bench {

/// What the receiver saw so far.
struct receiver_counts {
  uint64_t requests = 0;
  uint64_t distinct_ids = 0;
  /// Requests without a `webhook-id` header.
  uint64_t without_id = 0;
  /// Seconds between the first and the last request (0 with fewer than 2).
  double span_s = 0;
  std::chrono::steady_clock::time_point first{};
  std::chrono::steady_clock::time_point last{};
};

/// A fast webhook receiver inside the harness: its own io threads, an
/// acceptor on 127.0.0.1:0, keep-alive HTTP/1.1 (Boost.Beast) answering 204
/// to every request; counts the requests and the distinct `webhook-id`
/// headers, and times the first and the last request, so that the
/// delivery rate is the receiver's, never the daemon's word.
class webhook_receiver {
public:
  explicit webhook_receiver(size_t threads = 1);
  ~webhook_receiver();
  webhook_receiver(const webhook_receiver&) = delete;
  webhook_receiver& operator=(const webhook_receiver&) = delete;

  uint16_t port() const;
  /// `http://127.0.0.1:PORT/hook`: the address a policy's target gets.
  std::string url() const;
  receiver_counts counts() const;

  /// Waits until `expected` distinct ids arrived, or `timeout` passed;
  /// then `settle` more, so that re-sent deliveries are counted too.
  /// True when all arrived.
  bool wait_for(uint64_t expected, std::chrono::seconds timeout,
                std::chrono::milliseconds settle);

  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// `http://127.0.0.1:PORT/dead`, with PORT bound and closed again: a
/// connection to it is refused (nothing listens there).
std::string dead_address();

/// The webhook part of a run: N policies on the run's project, each with
/// one target; `dead` of them at a refused address, the rest at the
/// receiver.
struct webhook_setup {
  size_t policies = 0;
  size_t dead = 0;
  std::string admin_token;
  std::string project;
  std::string live_url;
  std::string dead_url;
};

/// Merges what delivery to a loopback receiver needs into the extra YAML
/// configuration (`auth.admin_token` and `webhooks.allow_networks`
/// 127.0.0.0/8, unless set there); returns the YAML and the admin token
/// in effect.
std::pair<std::string, std::string>
webhook_extra_config(const std::string& extra_yaml);

/// Creates the project (201, or 409 when it exists) and the policies
/// through the daemon's API; throws on any other answer.
void create_webhook_policies(const std::string& host, uint16_t port,
                             const webhook_setup& s);

/// Webhook tasks of the run's project by kind of target and status.
struct webhook_task_counts {
  uint64_t live_success = 0;
  uint64_t live_pending = 0;
  uint64_t live_failed = 0;
  uint64_t dead_success = 0;
  uint64_t dead_pending = 0;
  uint64_t dead_failed = 0;
};

/// Reads them from the daemon's database (`sqlite://FILE` or a PostgreSQL
/// URL); dead targets are the policies named `bench-dead-*`.
webhook_task_counts count_webhook_tasks(const std::string& db_url,
                                        const std::string& project);

} // namespace regevent::bench
