#include "actors/scan_worker.hpp"

#include "actors/dispatcher.hpp"
#include "actors/observability/metrics.hpp"
#include "config/defaults.hpp"
#include "config/error.hpp"
#include "persistence/scan_work_store.hpp"
#include "persistence/secret_box.hpp"

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <stdexcept>

namespace regevent {

scan_worker_config scan_worker_config::from(const runtime& rt) {
  scan_worker_config x;
  x.database = rt.cfg->database;
  x.secrets_key = rt.cfg->secrets.key;
  x.scanning = rt.cfg->scanning;
  x.port = rt.scanning;
  x.stats = rt.stats;
  x.journal_timeout
      = std::chrono::milliseconds(rt.cfg->ingest.journal_timeout_ms);
  return x;
}

void scan_worker_config::validate() const {
  if (!port)
    throw config_error("scanning: no scanner client");
  if (!stats)
    throw config_error("scanning: metrics are required");
  if (scanning.workers == 0)
    throw config_error("scanning: workers must be positive");
  if (journal_timeout.count() <= 0)
    throw config_error("scanning: the journal timeout must be positive");
}

scan_worker_state::scan_worker_state() = default;
scan_worker_state::~scan_worker_state() = default;

namespace {

using self_ptr = scan_worker_actor::stateful_pointer<scan_worker_state>;
using state = scan_worker_state;
using clock_type = state::clock_type;
using flight = state::flight;

/// The queue gauge is refreshed this often.
constexpr auto housekeeping_interval = std::chrono::seconds(10);

double random_unit() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

timestamp_us lease_until(const state& st) {
  return now_us() + st.cfg.scanning.claim_lease_ms * 1000LL;
}

/// `a/b; version=1.0` and `a/b;version=1.0` are one media type; so are
/// upper and lower case.
std::string normal_media_type(const std::string& type) {
  std::string out;
  for (char c : type)
    if (c != ' ' && c != '\t')
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool listed(const std::vector<std::string>& types, const std::string& type) {
  auto wanted = normal_media_type(type);
  return std::any_of(types.begin(), types.end(), [&](const std::string& t) {
    return normal_media_type(t) == wanted;
  });
}

bool is_index(const std::string& media_type) {
  return media_type == "application/vnd.oci.image.index.v1+json"
         || media_type
                == "application/vnd.docker.distribution.manifest.list.v2+json";
}

scan_outcome_record base_outcome(const scan_job& j) {
  scan_outcome_record o;
  o.task_id = j.task_id;
  o.lease = j.lease;
  o.request_id = j.request_id;
  o.report_mime = j.report_mime;
  return o;
}

/// The scan's duration so far: from when the adapter took it, else from
/// this claim.
double seconds_of(const flight& f) {
  auto from = f.job.submitted_at > 0 ? f.job.submitted_at : f.claimed_at;
  return static_cast<double>(now_us() - from) / 1e6;
}

std::string what(const scan_job& j) {
  return j.repository + "@" + j.digest;
}

/// The metadata cache's key: a registration whose URL changed is another
/// adapter.
std::string adapter_key(const scan_job& j) {
  return j.scanner.uuid + " " + j.scanner.url;
}

void step(self_ptr self, flight& f);

/// Wraps `fn` as the port's callback: the answer is queued for the actor,
/// which runs `fn` with the task's flight if this claim still holds it.
template<class Answer, class F>
std::function<void(Answer)> on_answer(self_ptr self, const flight& f, F fn) {
  auto id = f.job.task_id;
  auto generation = f.generation;
  return [inbox = self->state.answers,
          handle = caf::actor_cast<scan_worker_actor>(self), self, id,
          generation, fn](Answer a) {
    bool first = false;
    {
      std::lock_guard<std::mutex> guard(inbox->mtx);
      first = inbox->answers.empty();
      // Runs on the actor's thread (wakeup), never here.
      inbox->answers.emplace_back(
          [self, id, generation, fn, a = std::move(a)]() mutable {
            auto& flights = self->state.flights;
            auto it = flights.find(id);
            if (it == flights.end() || it->second.generation != generation)
              return;
            it->second.busy = false;
            fn(self, it->second, std::move(a));
          });
    }
    if (first)
      caf::anon_send(handle, atom::wakeup_v);
  };
}

/// Ends the scan with `status` (Success, Error or Unsupported).
void finish(self_ptr self, flight& f, const char* status, std::string error,
            std::string report = {}, scan_summary summary = {}) {
  auto& st = self->state;
  auto o = base_outcome(f.job);
  o.status = status;
  o.error = std::move(error);
  o.report = std::move(report);
  o.summary = std::move(summary);
  if (auto it = st.adapters.find(adapter_key(f.job)); it != st.adapters.end()) {
    o.scanner_name = it->second.info.name;
    o.scanner_vendor = it->second.info.vendor;
    o.scanner_version = it->second.info.version;
  }
  const char* outcome = status == std::string(scan_status::success) ? "success"
                        : status == std::string(scan_status::unsupported)
                            ? "unsupported"
                            : "failed";
  st.cfg.stats->scan_outcome(outcome, seconds_of(f));
  if (o.status == scan_status::success)
    spdlog::info("scan of {} by {}: {} vulnerabilities, severity {}",
                 what(f.job), f.job.scanner.name, o.summary.total,
                 o.summary.severity);
  else if (o.status == scan_status::unsupported)
    spdlog::info("scan of {} by {} not run: {}", what(f.job),
                 f.job.scanner.name, o.error);
  else
    spdlog::warn("scan of {} by {} failed: {}", what(f.job),
                 f.job.scanner.name, o.error);
  st.outcomes.push_back(std::move(o));
  auto id = f.job.task_id; // f goes with its entry
  st.flights.erase(id);
}

/// A failed call: retried with backoff while it is transient and the
/// budget lasts, else the scan's end. The claim is given back either way.
void retry_or_fail(self_ptr self, flight& f, const scanner_call_status& s) {
  auto& st = self->state;
  // What the adapter said may be stale now: ask again next time.
  st.adapters.erase(adapter_key(f.job));
  auto tries = f.job.attempts + 1;
  const auto& cfg = st.cfg.scanning;
  if (!s.transient || tries > static_cast<int64_t>(cfg.max_retries)) {
    finish(self, f, scan_status::error,
           s.transient ? s.error + " (gave up after "
                             + std::to_string(tries) + " attempts)"
                       : s.error);
    return;
  }
  retry_policy policy{cfg.max_retries + 1, cfg.retry_base_ms, cfg.retry_max_ms,
                      0.2};
  auto o = base_outcome(f.job);
  o.status = scan_status::pending;
  o.error = s.error;
  o.next_attempt_at
      = now_us()
        + 1000LL
              * backoff_ms(policy, static_cast<uint32_t>(tries - 1),
                           random_unit());
  st.cfg.stats->scan_outcome("retry", -1);
  spdlog::info("scan of {}: {}; retry {} of {}", what(f.job), s.error, tries,
               cfg.max_retries);
  st.outcomes.push_back(std::move(o));
  auto id = f.job.task_id; // f goes with its entry
  st.flights.erase(id);
}

/// Records what waits to be written; kept for the next round when the
/// database refuses.
bool record(self_ptr self) {
  return record_outcomes(self->state.writes, self->state.outcomes, "scanning");
}

void poll(self_ptr self, flight& f) {
  auto& st = self->state;
  f.busy = true;
  st.cfg.port->poll(
      f.job,
      on_answer<scan_poll_answer>(self, f, [](self_ptr self, flight& f,
                                              scan_poll_answer a) {
        if (!a.status.ok) {
          if (a.unknown_request) {
            // The adapter forgot the request (it restarted): the spec
            // says to ask again, which counts as an attempt.
            f.job.request_id.clear();
            a.status.transient = true;
          }
          return retry_or_fail(self, f, a.status);
        }
        if (!a.ready) {
          auto wait = std::chrono::seconds(a.refresh_after_s);
          f.next_poll = clock_type::now() + wait;
          self->delayed_send(self, wait, atom::wakeup_v);
          return;
        }
        scan_summary summary;
        try {
          summary = summarize_vulnerability_report(a.report);
        } catch (const std::invalid_argument& e) {
          return finish(self, f, scan_status::error,
                        std::string("the adapter's report is unreadable: ")
                            + e.what());
        }
        finish(self, f, scan_status::success, {}, std::move(a.report),
               std::move(summary));
      }));
}

/// The adapter took the scan: written at once, so that a restart polls
/// this request instead of asking for a second scan.
void accepted(self_ptr self, flight& f, const std::string& request_id) {
  auto& st = self->state;
  f.job.request_id = request_id;
  f.job.submitted_at = now_us();
  auto o = base_outcome(f.job);
  o.status = scan_status::running;
  st.outcomes.push_back(std::move(o));
  record(self);
  f.next_poll = clock_type::now();
  poll(self, f);
}

void submit(self_ptr self, flight& f, const scanner_adapter_info& adapter) {
  auto& st = self->state;
  const auto& type = f.job.media_type;
  if (!listed(adapter.consumes, type)) {
    // An index names platform manifests that Distribution notified as
    // pushes of their own (by digest, before the index): each is scanned
    // then. Harbor shows an index's scan as its children's.
    auto reason
        = is_index(type)
              ? "an image index (" + type
                    + ") is not scanned itself: each platform manifest it "
                      "lists is scanned on its own push"
              : "scanner " + f.job.scanner.name + " does not read " + type
                    + " (it reads only the media types of its "
                      "consumes_mime_types)";
    return finish(self, f, scan_status::unsupported, reason);
  }
  // Harbor v2.0 keys its overview by the Harbor 1.0 report; adapters of
  // spec v1.1 and later may produce only the newer one.
  for (const char* wanted :
       {scan_report_type::harbor_v1, scan_report_type::vulnerability_v1_1})
    if (listed(adapter.produces, wanted)) {
      f.job.report_mime = wanted;
      break;
    }
  if (f.job.report_mime.empty())
    return finish(self, f, scan_status::unsupported,
                  "scanner " + f.job.scanner.name
                      + " produces no vulnerability report regevent reads");
  f.busy = true;
  st.cfg.port->submit(
      f.job, on_answer<scan_submit_answer>(
                 self, f, [](self_ptr self, flight& f, scan_submit_answer a) {
                   if (!a.status.ok)
                     return retry_or_fail(self, f, a.status);
                   accepted(self, f, a.request_id);
                 }));
}

/// Takes the scan one step on: metadata, submit or poll, whichever is
/// due.
void step(self_ptr self, flight& f) {
  auto& st = self->state;
  if (f.busy || st.stopping)
    return;
  if (!f.job.request_id.empty()) {
    // From the request; from this claim when the request's time was
    // never written.
    auto since = f.job.submitted_at > 0 ? f.job.submitted_at : f.claimed_at;
    auto deadline = since + st.cfg.scanning.report_deadline_s * 1'000'000LL;
    if (now_us() > deadline)
      return finish(self, f, scan_status::error,
                    "no report within scanning.report_deadline_s ("
                        + std::to_string(st.cfg.scanning.report_deadline_s)
                        + " s) of the scan request");
    if (clock_type::now() >= f.next_poll)
      poll(self, f);
    return;
  }
  auto known = st.adapters.find(adapter_key(f.job));
  if (known != st.adapters.end() && clock_type::now() < known->second.expires)
    return submit(self, f, known->second.info);
  f.busy = true;
  st.cfg.port->metadata(
      f.job.scanner,
      on_answer<scanner_metadata_answer>(
          self, f, [](self_ptr self, flight& f, scanner_metadata_answer a) {
            auto& st = self->state;
            if (!a.status.ok)
              return retry_or_fail(self, f, a.status);
            auto& known = st.adapters[adapter_key(f.job)];
            known.info = std::move(a.info);
            known.expires
                = clock_type::now()
                  + std::chrono::seconds(st.cfg.scanning.metadata_cache_s);
            submit(self, f, known.info);
          }));
}

/// Steps every flight not waiting for an answer.
void step_all(self_ptr self) {
  std::vector<int64_t> ids;
  for (const auto& [id, f] : self->state.flights)
    ids.push_back(id);
  for (auto id : ids) {
    auto it = self->state.flights.find(id);
    if (it != self->state.flights.end())
      step(self, it->second);
  }
}

void renew(self_ptr self) {
  auto& st = self->state;
  auto now = clock_type::now();
  if (now < st.next_renewal)
    return;
  st.next_renewal
      = now + std::chrono::milliseconds(st.cfg.scanning.claim_lease_ms / 3);
  if (st.flights.empty())
    return;
  std::vector<std::pair<int64_t, timestamp_us>> held;
  for (const auto& [id, f] : st.flights)
    held.emplace_back(id, f.job.lease);
  auto until = lease_until(st);
  auto kept = st.writes.run([&](scan_work_store& store, writer_context&) {
    return store.renew(held, until);
  });
  if (!kept) {
    spdlog::warn("scanning failed to renew {} leases: {}", held.size(),
                 describe(kept.error()));
    return;
  }
  for (auto id : *kept)
    if (auto it = st.flights.find(id); it != st.flights.end()) {
      // An outcome still waiting to be written (its write failed) must
      // name the lease it now holds, or it would match nothing.
      for (auto& o : st.outcomes)
        if (o.task_id == id && o.lease == it->second.job.lease)
          o.lease = until;
      it->second.job.lease = until;
    }
  // A lease lost (this worker stalled past it and another took the task)
  // is not this worker's scan any more: its answers are ignored.
  for (auto it = st.flights.begin(); it != st.flights.end();)
    if (it->second.job.lease != until) {
      spdlog::info("scan task {} lost its lease; another worker has it",
                   it->first);
      it = st.flights.erase(it);
    } else {
      ++it;
    }
}

void housekeeping(self_ptr self) {
  auto& st = self->state;
  auto now = clock_type::now();
  if (now < st.next_housekeeping)
    return;
  st.next_housekeeping = now + housekeeping_interval;
  auto n = st.writes.run([&](scan_work_store& store, writer_context&) {
    return store.unfinished();
  });
  if (n)
    st.cfg.stats->scan_queue(*n);
  else
    spdlog::warn("scanning housekeeping failed: {}", describe(n.error()));
}

/// Records, then claims as many due tasks as there are free workers.
void pump(self_ptr self) {
  auto& st = self->state;
  if (!record(self) || st.stopping)
    return;
  auto workers = st.cfg.scanning.workers;
  if (st.flights.size() >= workers)
    return;
  auto claimed = st.writes.run([&](scan_work_store& store, writer_context&) {
    return store.claim(now_us(), workers - st.flights.size(), lease_until(st));
  });
  if (!claimed) {
    spdlog::warn("scanning failed to claim tasks: {}",
                 describe(claimed.error()));
    return;
  }
  for (auto& j : *claimed) {
    auto id = j.task_id;
    flight f;
    f.job = std::move(j);
    f.generation = ++st.generations;
    f.claimed_at = now_us();
    auto& held = st.flights.insert_or_assign(id, std::move(f)).first->second;
    if (!held.job.unusable.empty()) {
      finish(self, held, scan_status::error, held.job.unusable);
      continue;
    }
    step(self, held);
  }
  // Scans that ended without a call.
  record(self);
}

} // namespace

scan_worker_actor::behavior_type scan(self_ptr self, scan_worker_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.secrets = std::make_unique<secret_box>(st.cfg.secrets_key);
  st.answers = std::make_shared<state::inbox>();
  st.writes = write_path<scan_work_store>(
      self->system(), st.cfg.database,
      [box = st.secrets.get()](database& db) {
        return std::make_unique<scan_work_store>(db, *box);
      },
      st.cfg.journal_timeout);
  // Scans in flight are given back due now, with the adapter's request id
  // when it took them: the next start polls those instead of asking again.
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    auto& st = self->state;
    st.stopping = true;
    for (auto& [id, f] : st.flights) {
      auto o = base_outcome(f.job);
      o.attempted = false;
      o.next_attempt_at = now_us();
      st.outcomes.push_back(std::move(o));
    }
    st.flights.clear();
    record(self);
    self->quit(msg.reason);
  });
  self->send(self, atom::tick_v);
  return {
      [self](atom::tick) {
        auto& st = self->state;
        renew(self);
        housekeeping(self);
        pump(self);
        step_all(self);
        self->delayed_send(
            self, std::chrono::milliseconds(st.cfg.scanning.poll_interval_ms),
            atom::tick_v);
      },
      [self](atom::wakeup) {
        auto& st = self->state;
        std::vector<std::function<void()>> answers;
        {
          std::lock_guard<std::mutex> guard(st.answers->mtx);
          answers.swap(st.answers->answers);
        }
        for (auto& answer : answers)
          answer();
        step_all(self);
        pump(self);
      },
  };
}

} // namespace regevent
