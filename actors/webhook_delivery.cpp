#include "actors/webhook_delivery.hpp"

#include "actors/dispatcher.hpp"
#include "actors/observability/metrics.hpp"
#include "actors/webhook_payload.hpp"
#include "config/error.hpp"
#include "persistence/secret_box.hpp"
#include "persistence/webhook_delivery_store.hpp"

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <set>

namespace regevent {

webhook_delivery_config webhook_delivery_config::from(const runtime& rt) {
  webhook_delivery_config x;
  x.database = rt.cfg->database;
  x.secrets_key = rt.cfg->secrets.key;
  x.webhooks = rt.cfg->webhooks;
  x.outbound = rt.outbound;
  x.stats = rt.stats;
  x.journal_timeout
      = std::chrono::milliseconds(rt.cfg->ingest.journal_timeout_ms);
  return x;
}

void webhook_delivery_config::validate() const {
  if (!outbound)
    throw config_error("webhook delivery: no outbound client");
  if (!stats)
    throw config_error("webhook delivery: metrics are required");
  if (webhooks.workers == 0 || webhooks.per_target_concurrency == 0)
    throw config_error("webhook delivery: workers must be positive");
  if (journal_timeout.count() <= 0)
    throw config_error("webhook delivery: the journal timeout must be "
                       "positive");
}

/// A delivery on its way.
struct webhook_delivery_state::flight {
  webhook_delivery delivery;
  std::string target;
  timestamp_us started = 0;
};

webhook_delivery_state::webhook_delivery_state() = default;
webhook_delivery_state::~webhook_delivery_state() = default;

namespace {

using self_ptr
    = webhook_delivery_actor::stateful_pointer<webhook_delivery_state>;
using state = webhook_delivery_state;
using clock_type = std::chrono::steady_clock;

/// Housekeeping (queue depth, log retention) runs this often.
constexpr auto housekeeping_interval = std::chrono::seconds(10);
/// Finished deliveries deleted per statement.
constexpr size_t purge_batch = 1000;
constexpr int purge_batches_per_round = 5;
/// A delivery that found its target busy is put off this long (plus
/// jitter), not held: held deliveries would take workers from others.
constexpr timestamp_us busy_delay_us = 1'000'000;
constexpr timestamp_us us_per_day = 86'400'000'000LL;

double random_unit() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

std::string target_key(const webhook_delivery& d) {
  return std::to_string(d.policy_id) + "/" + std::to_string(d.position);
}

/// The host part of an address, for log lines: the path and query may
/// carry a token.
std::string origin_of(const std::string& address) {
  auto scheme = address.find("://");
  auto start = scheme == std::string::npos ? 0 : scheme + 3;
  auto end = address.find_first_of("/?#", start);
  return address.substr(0, end);
}

webhook_outcome_record base_outcome(const webhook_delivery& d) {
  webhook_outcome_record o;
  o.task_id = d.task_id;
  o.lease = d.lease;
  o.policy_id = d.policy_id;
  o.position = d.position;
  return o;
}

/// Puts a delivery off without an attempt.
void defer(self_ptr self, const webhook_delivery& d, timestamp_us until,
           std::string why) {
  auto o = base_outcome(d);
  o.attempted = false;
  o.status = webhook_status::pending;
  o.next_attempt_at
      = until + static_cast<timestamp_us>(random_unit() * busy_delay_us / 4);
  o.error = std::move(why);
  self->state.cfg.stats->webhook_attempt(target_key(d), "deferred", -1);
  self->state.outcomes.push_back(std::move(o));
}

void send(self_ptr self, webhook_delivery d);

/// Fails a delivery that cannot be sent; the log says why.
void fail_unusable(self_ptr self, const webhook_delivery& d) {
  auto o = base_outcome(d);
  o.attempt = d.attempts + 1;
  o.started_at = now_us();
  o.status = webhook_status::failed;
  o.error = d.unusable;
  self->state.cfg.stats->webhook_attempt(target_key(d), "failed", -1);
  self->state.outcomes.push_back(std::move(o));
}

void start_waiting(self_ptr self, const std::string& key) {
  auto& st = self->state;
  auto& t = st.targets[key];
  auto now = clock_type::now();
  while (!t.waiting.empty()
         && t.in_flight < st.cfg.webhooks.per_target_concurrency) {
    // Oldest first, as claimed.
    auto d = std::move(t.waiting.front());
    t.waiting.erase(t.waiting.begin());
    if (now < t.open_until) {
      --st.held;
      defer(self, d, now_us() + st.cfg.webhooks.breaker_cooldown_ms * 1000LL,
            "circuit open after repeated failures");
      continue;
    }
    --st.held;
    send(self, std::move(d));
  }
}

void settle(self_ptr self, uint64_t id, const outbound_reply& reply) {
  auto& st = self->state;
  auto it = st.flights.find(id);
  if (it == st.flights.end())
    return;
  auto f = std::move(it->second);
  st.flights.erase(it);
  --st.held;
  const auto& d = f->delivery;
  const auto& w = st.cfg.webhooks;
  auto& t = st.targets[f->target];
  --t.in_flight;
  auto o = base_outcome(d);
  o.attempt = d.attempts + 1;
  o.started_at = f->started;
  o.status_code = reply.status;
  o.latency_us = reply.latency.count();
  o.error = reply.error;
  const char* outcome = "retry";
  if (reply.error.empty() && reply.status >= 200 && reply.status < 300) {
    o.status = webhook_status::success;
    t.failures = 0;
    outcome = "success";
  } else if (reply.error.empty() && reply.status == 410) {
    // The receiver says it is gone for good: stop sending to it.
    o.status = webhook_status::failed;
    o.error = "410 Gone: the target is disabled";
    o.disable_target = "410 Gone from " + origin_of(d.address) + " at "
                       + format_rfc3339(now_us());
    outcome = "disabled";
    spdlog::warn("webhook target {} of policy {} answered 410 Gone: disabled",
                 d.position, d.policy_id);
  } else {
    if (reply.error.empty())
      o.error = "HTTP " + std::to_string(reply.status);
    if (++t.failures >= w.breaker_failures)
      t.open_until = clock_type::now()
                     + std::chrono::milliseconds(w.breaker_cooldown_ms);
    // The budget counts from the last manual retry.
    auto tries = o.attempt - d.retry_base;
    if (reply.permanent || tries > static_cast<int64_t>(w.max_retries)) {
      o.status = webhook_status::failed;
      outcome = "failed";
    } else {
      o.status = webhook_status::pending;
      retry_policy policy{w.max_retries + 1, w.retry_base_ms, w.retry_max_ms,
                          0.2};
      o.next_attempt_at
          = now_us()
            + 1000LL
                  * backoff_ms(policy, static_cast<uint32_t>(tries - 1),
                               random_unit());
    }
  }
  st.cfg.stats->webhook_attempt(f->target, outcome,
                                static_cast<double>(o.latency_us) / 1e6);
  st.outcomes.push_back(std::move(o));
  start_waiting(self, f->target);
}

void send(self_ptr self, webhook_delivery d) {
  auto& st = self->state;
  const auto& w = st.cfg.webhooks;
  webhook_notice n;
  n.event_type = d.event_type;
  n.occur_at = d.occur_at;
  n.operator_name = d.operator_name;
  n.project = d.project;
  n.repository = d.repository;
  n.tag = d.tag;
  n.digest = d.digest;
  // On PostgreSQL the repositories effect commits apart from this one and
  // may not have created the repository yet: it existed at the event at
  // the latest.
  n.repository_created
      = d.repository_created != 0 ? d.repository_created : d.occur_at;
  n.project_public = d.project_public;
  n.registry_address = w.registry_address;
  n.project_id = d.project_id;
  n.policy_id = d.policy_id;
  n.replication = d.replication;
  n.scan_overview = d.scan_overview;
  outbound_post req;
  req.url = d.address;
  req.timeout = std::chrono::milliseconds(w.timeout_ms);
  req.skip_cert_verify = d.skip_cert_verify;
  req.ca_file = d.ca_file;
  auto now = now_us();
  auto seconds = now / 1'000'000;
  req.headers.emplace_back("Content-Type",
                           payload_content_type(d.payload_format));
  req.headers.emplace_back("webhook-id", d.webhook_id);
  req.headers.emplace_back("webhook-timestamp", std::to_string(seconds));
  try {
    req.body = d.payload_format == "CloudEvents"
                   ? render_cloudevents_payload(n, d.webhook_id)
                   : render_default_payload(n);
    if (!d.secret.empty())
      req.headers.emplace_back("webhook-signature",
                               standard_webhooks_signature(
                                   d.secret, d.webhook_id, seconds, req.body));
  } catch (const std::exception& e) {
    // What the API refuses (an unknown event type, a malformed secret)
    // cannot be sent however often it is tried; nor can what OpenSSL
    // refuses to sign.
    d.unusable = std::string("cannot render the delivery: ") + e.what();
    fail_unusable(self, d);
    return;
  }
  if (!d.auth_header.empty())
    req.headers.emplace_back("Authorization", d.auth_header);
  auto id = st.next_flight++;
  auto key = target_key(d);
  ++st.targets[key].in_flight;
  ++st.held;
  auto f = std::make_unique<state::flight>();
  f->delivery = std::move(d);
  f->target = key;
  f->started = now;
  st.flights.emplace(id, std::move(f));
  // The callback runs on the client's thread: it only queues the answer
  // and wakes the actor when the queue was empty.
  st.cfg.outbound->post(
      std::move(req), [inbox = st.replies, id,
                       handle = caf::actor_cast<webhook_delivery_actor>(self)](
                          outbound_reply reply) {
        bool wake = false;
        {
          std::lock_guard<std::mutex> guard(inbox->mtx);
          wake = inbox->replies.empty();
          inbox->replies.emplace_back(id, std::move(reply));
        }
        if (wake)
          caf::anon_send(handle, atom::wakeup_v);
      });
}

/// Takes a claimed delivery into the target's slots, its queue, or puts it
/// off.
void take(self_ptr self, webhook_delivery d) {
  auto& st = self->state;
  const auto& w = st.cfg.webhooks;
  if (!d.unusable.empty()) {
    fail_unusable(self, d);
    return;
  }
  auto key = target_key(d);
  auto& t = st.targets[key];
  if (clock_type::now() < t.open_until) {
    defer(self, d, now_us() + w.breaker_cooldown_ms * 1000LL,
          "circuit open after repeated failures");
    return;
  }
  if (t.in_flight < w.per_target_concurrency) {
    send(self, std::move(d));
    return;
  }
  if (t.waiting.size() < w.per_target_concurrency) {
    ++st.held;
    t.waiting.push_back(std::move(d));
    return;
  }
  defer(self, d, now_us() + busy_delay_us, "target busy");
}

/// Writes the outcomes gathered so far; kept for the next round when the
/// database refuses (their deliveries stay leased meanwhile).
bool record(self_ptr self) {
  return record_outcomes(self->state.writes, self->state.outcomes, "webhook delivery");
}

void housekeeping(self_ptr self) {
  auto& st = self->state;
  auto now = clock_type::now();
  if (now < st.next_housekeeping)
    return;
  st.next_housekeeping = now + housekeeping_interval;
  auto cutoff = now_us() - st.cfg.webhooks.log_retention_days * us_per_day;
  auto counted
      = st.writes.run([&](webhook_delivery_store& store, writer_context&) {
          // A target whose queue emptied has no row: its gauge goes to 0.
          std::set<std::string> queued;
          for (const auto& [target, n] : store.pending_by_target()) {
            st.cfg.stats->webhook_queue(target, n);
            queued.insert(target);
          }
          for (const auto& target : st.queued)
            if (queued.count(target) == 0)
              st.cfg.stats->webhook_queue(target, 0);
          st.queued = std::move(queued);
          // A few batches per round, so that claims and answers are not held
          // up by a large first purge; the next rounds go on with it.
          size_t purged = 0;
          for (int i = 0; i < purge_batches_per_round; ++i) {
            auto n = store.purge_finished(cutoff, purge_batch);
            purged += n;
            if (n < purge_batch)
              break;
          }
          return purged;
        });
  if (counted && *counted > 0)
    spdlog::info("webhook delivery log: deleted {} deliveries older than {} "
                 "days",
                 *counted, st.cfg.webhooks.log_retention_days);
}

/// Records, then claims as many due deliveries as there are free workers.
void pump(self_ptr self) {
  auto& st = self->state;
  // Nothing new is claimed while outcomes wait to be written: their
  // deliveries would be claimed again when their leases expire, and the
  // list would only grow.
  if (!record(self) || st.stopping)
    return;
  const auto& w = st.cfg.webhooks;
  if (st.held >= w.workers)
    return;
  auto now = now_us();
  auto claimed
      = st.writes.run([&](webhook_delivery_store& store, writer_context&) {
          // Room for its slots and as many waiting: a target's backlog beyond
          // that stays in the database, unclaimed and untouched.
          auto room = [&st, &w](int64_t policy, int64_t position) -> size_t {
            auto it = st.targets.find(std::to_string(policy) + "/"
                                      + std::to_string(position));
            if (it == st.targets.end())
              return 2 * w.per_target_concurrency;
            // An open circuit takes nothing: its deliveries wait, due, in the
            // database, unwritten, until the cooldown ends.
            if (clock_type::now() < it->second.open_until)
              return 0;
            size_t load = it->second.in_flight + it->second.waiting.size();
            return 2 * w.per_target_concurrency
                   - std::min(load, 2 * w.per_target_concurrency);
          };
          return store.claim(now, w.workers - st.held, room,
                             now + w.claim_lease_ms * 1000LL, st.next_target);
        });
  if (!claimed) {
    spdlog::warn("webhook delivery failed to claim deliveries: {}",
                 describe(claimed.error()));
    return;
  }
  for (auto& d : *claimed)
    take(self, std::move(d));
  // Deliveries that failed or were put off without a flight.
  record(self);
}

} // namespace

webhook_delivery_actor::behavior_type
deliver_webhooks(self_ptr self, webhook_delivery_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.secrets = std::make_unique<secret_box>(st.cfg.secrets_key);
  st.replies = std::make_shared<state::inbox>();
  st.writes = write_path<webhook_delivery_store>(
      self->system(), st.cfg.database,
      [box = st.secrets.get()](database& db) {
        return std::make_unique<webhook_delivery_store>(db, *box);
      },
      st.cfg.journal_timeout);
  // Outcomes already known are written before the actor goes: without
  // them their deliveries would be sent again when their lease expires.
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    self->state.stopping = true;
    record(self);
    self->quit(msg.reason);
  });
  self->send(self, atom::tick_v);
  return {
      [self](atom::tick) {
        auto& st = self->state;
        housekeeping(self);
        pump(self);
        self->delayed_send(
            self, std::chrono::milliseconds(st.cfg.webhooks.poll_interval_ms),
            atom::tick_v);
      },
      [self](atom::wakeup) {
        auto& st = self->state;
        std::vector<std::pair<uint64_t, outbound_reply>> replies;
        {
          std::lock_guard<std::mutex> guard(st.replies->mtx);
          replies.swap(st.replies->replies);
        }
        for (const auto& [id, reply] : replies)
          settle(self, id, reply);
        pump(self);
      },
  };
}

} // namespace regevent
