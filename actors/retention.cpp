#include "actors/retention.hpp"

#include "config/error.hpp"
#include "persistence/catalog_store.hpp"
#include "persistence/database.hpp"
#include "persistence/journal_store.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace regevent {

retention_config retention_config::from(const runtime& rt) {
  const auto& r = rt.cfg->retention;
  retention_config x;
  x.database = rt.cfg->database;
  x.access_log_days = r.access_log_days;
  x.journal_days = r.journal_days;
  x.dedup_days = r.dedup_days;
  x.interval = std::chrono::seconds(r.purge_interval_s);
  x.batch = r.purge_batch;
  x.journal_timeout
      = std::chrono::milliseconds(rt.cfg->ingest.journal_timeout_ms);
  return x;
}

void retention_config::validate() const {
  if (interval.count() <= 0 || batch == 0)
    throw config_error("retention: interval and batch must be positive");
  if (journal_days == 0)
    throw config_error("retention: journal_days must be positive");
  if (journal_timeout.count() <= 0)
    throw config_error("retention: the journal timeout must be positive");
}

/// The statements retention runs, made on the connection that writes.
struct retention_stores {
  explicit retention_stores(database& db) : catalog(db), journal(db) {}
  catalog_store catalog;
  journal_store journal;
};

retention_state::retention_state() = default;
retention_state::~retention_state() = default;

namespace {

using self_ptr = retention_actor::stateful_pointer<retention_state>;
using phase = retention_state::phase;

constexpr int64_t us_per_day = 86'400'000'000LL;

long long days_ago(uint32_t days) {
  return now_us() - static_cast<long long>(days) * us_per_day;
}

/// What a phase did, for the log line at its end.
const char* done_by(phase p) {
  switch (p) {
    case phase::access_logs:
      return "purged access-log rows";
    case phase::compact:
      return "compacted finished events";
    case phase::forget:
      return "forgot finished events";
    case phase::idle:
      break;
  }
  return "";
}

/// The phase after `p` that has something to do.
phase next_phase(const retention_config& cfg, phase p) {
  switch (p) {
    case phase::idle:
      if (cfg.access_log_days > 0)
        return phase::access_logs;
      [[fallthrough]];
    case phase::access_logs:
      return phase::compact;
    case phase::compact:
      if (cfg.dedup_days > 0)
        return phase::forget;
      [[fallthrough]];
    case phase::forget:
      return phase::idle;
  }
  return phase::idle;
}

uint32_t days_of(const retention_config& cfg, phase p) {
  switch (p) {
    case phase::access_logs:
      return cfg.access_log_days;
    case phase::compact:
      return cfg.journal_days;
    case phase::forget:
      // An event is forgotten only once it is compacted too.
      return std::max(cfg.dedup_days, cfg.journal_days);
    case phase::idle:
      break;
  }
  return 0;
}

/// One batch of the current phase; whether the phase has more to do.
caf::expected<bool> step(self_ptr self) {
  auto& st = self->state;
  const long long batch = st.cfg.batch;
  const long long cutoff = days_ago(days_of(st.cfg, st.now));
  return st.writes.run([&](retention_stores& s, writer_context& ctx) {
    write_transaction tx(ctx.db);
    bool more = false;
    switch (st.now) {
      case phase::access_logs: {
        auto n = s.catalog.purge_access_logs(cutoff, batch);
        st.changed += static_cast<uint64_t>(n);
        more = n >= batch;
        break;
      }
      case phase::compact: {
        auto r = s.journal.compact_finished(st.compact_cursor, cutoff, batch);
        st.compact_cursor = r.cursor;
        st.changed += static_cast<uint64_t>(r.changed);
        more = !r.done;
        break;
      }
      case phase::forget: {
        auto r = s.journal.forget_finished(st.forget_cursor, cutoff, batch);
        st.forget_cursor = r.cursor;
        st.changed += static_cast<uint64_t>(r.changed);
        more = !r.done;
        // The journal counts events by status by transitions.
        ctx.removed = r.removed;
        break;
      }
      case phase::idle:
        break;
    }
    tx.commit();
    return more;
  });
}

} // namespace

retention_actor::behavior_type retention(self_ptr self, retention_config cfg) {
  auto& st = self->state;
  st.writes = write_path<retention_stores>(
      self->system(), cfg.database,
      [](database& db) { return std::make_unique<retention_stores>(db); },
      cfg.journal_timeout);
  st.cfg = std::move(cfg);
  self->delayed_send(self, st.cfg.first_round_delay, atom::tick_v);
  return {
      [self](atom::tick) {
        auto& st = self->state;
        // A round still running (a huge first walk) goes on; no second.
        if (st.now == phase::idle) {
          st.now = next_phase(st.cfg, phase::idle);
          st.changed = 0;
          self->send(self, atom::purge_v);
        }
        self->delayed_send(self, st.cfg.interval, atom::tick_v);
      },
      [self](atom::purge) {
        auto& st = self->state;
        if (st.now == phase::idle)
          return;
        auto more = step(self);
        if (!more) {
          // The next tick starts a new round where the walks left off.
          spdlog::warn("retention failed: {}", describe(more.error()));
          st.now = phase::idle;
          return;
        }
        if (!*more) {
          if (st.changed > 0)
            spdlog::info("retention {}: {} older than {} days", done_by(st.now),
                         st.changed, days_of(st.cfg, st.now));
          st.changed = 0;
          st.now = next_phase(st.cfg, st.now);
          if (st.now == phase::idle)
            return;
        }
        self->delayed_send(self, st.cfg.batch_pause, atom::purge_v);
      },
  };
}

} // namespace regevent
