#include "actors/retention.hpp"

#include "config/error.hpp"
#include "persistence/catalog_store.hpp"
#include "persistence/database.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

namespace regevent {

retention_config retention_config::from(const runtime& rt) {
  const auto& r = rt.cfg->retention;
  retention_config x;
  x.database = rt.cfg->database;
  x.access_log_days = r.access_log_days;
  x.interval = std::chrono::seconds(r.purge_interval_s);
  x.batch = r.purge_batch;
  return x;
}

void retention_config::validate() const {
  if (interval.count() <= 0 || batch == 0)
    throw config_error("retention: interval and batch must be positive");
}

retention_state::retention_state() = default;
retention_state::~retention_state() = default;

namespace {

using self_ptr = retention_actor::stateful_pointer<retention_state>;

constexpr int64_t us_per_day = 86'400'000'000LL;

} // namespace

retention_actor::behavior_type retention(self_ptr self, retention_config cfg) {
  auto& st = self->state;
  st.conn = store_connection<catalog_store>(cfg.database, [](database& db) {
    return std::make_unique<catalog_store>(db);
  });
  st.cfg = std::move(cfg);
  if (st.cfg.access_log_days > 0)
    self->delayed_send(self, st.cfg.first_round_delay, atom::tick_v);
  return {
      [self](atom::tick) {
        self->state.purged = 0;
        self->send(self, atom::purge_v);
        self->delayed_send(self, self->state.cfg.interval, atom::tick_v);
      },
      [self](atom::purge) {
        auto& st = self->state;
        long long cutoff
            = now_us()
              - static_cast<long long>(st.cfg.access_log_days) * us_per_day;
        long long batch = st.cfg.batch;
        auto n = st.conn.run([&](catalog_store& store, database&) {
          return store.purge_access_logs(cutoff, batch);
        });
        if (!n) {
          spdlog::warn("retention failed to purge access logs: {}",
                       describe(n.error()));
          return;
        }
        st.purged += static_cast<uint64_t>(*n);
        if (*n >= batch) {
          self->delayed_send(self, st.cfg.batch_pause, atom::purge_v);
        } else if (st.purged > 0) {
          spdlog::info("retention purged {} access-log rows older than {} "
                       "days",
                       st.purged, st.cfg.access_log_days);
        }
      },
  };
}

} // namespace regevent
