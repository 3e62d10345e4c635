#pragma once

/// Where a detached actor's writes go. SQLite lets one connection write
/// while the others wait in the busy handler and invalidate each other's
/// page caches, so there each call becomes a job for the journal, the one
/// connection that writes, and the calling actor's thread waits for its
/// answer. PostgreSQL takes writers in parallel: there the actor keeps its
/// own connection.

#include "actors/actors.hpp"
#include "actors/errors.hpp"
#include "actors/root.hpp"
#include "actors/store_connection.hpp"
#include "actors/writer_job.hpp"
#include "config/database_url.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace regevent {

namespace detail {

enum class write_phase { queued, running, done, abandoned };

/// What the waiting caller and the job share.
template<class Result>
struct write_call {
  std::mutex mtx;
  std::condition_variable cv;
  write_phase phase = write_phase::queued;
  std::optional<Result> value;
  ec failure_code = ec::database_error;
  std::string failure;

  void finish(std::optional<Result> v, ec code, std::string why) {
    std::lock_guard<std::mutex> guard(mtx);
    value = std::move(v);
    failure_code = code;
    failure = std::move(why);
    phase = write_phase::done;
    cv.notify_all();
  }
};

/// A job that runs the caller's function unless the caller gave up on it
/// before it started, and tells the caller how it went.
template<class Result>
class write_call_job final : public writer_job {
public:
  write_call_job(std::shared_ptr<write_call<Result>> call,
                 std::function<Result(writer_context&)> f)
      : call_(std::move(call)), f_(std::move(f)) {}

  /// Never run (the journal stopped or died with it queued): the caller
  /// is told instead of waiting for its timeout.
  ~write_call_job() override {
    std::lock_guard<std::mutex> guard(call_->mtx);
    if (call_->phase == write_phase::queued) {
      call_->failure_code = ec::database_unavailable;
      call_->failure = "the journal stopped before the job ran";
      call_->phase = write_phase::done;
      call_->cv.notify_all();
    }
  }

  void run(writer_context& ctx) override {
    {
      std::lock_guard<std::mutex> guard(call_->mtx);
      if (call_->phase != write_phase::queued)
        return;
      call_->phase = write_phase::running;
    }
    try {
      call_->finish(f_(ctx), ec::database_error, {});
    } catch (const std::exception& e) {
      call_->finish(std::nullopt, ec::database_error, e.what());
      // The journal's connection handling sees it too (a lost connection
      // is dropped and reopened).
      throw;
    }
  }

private:
  std::shared_ptr<write_call<Result>> call_;
  std::function<Result(writer_context&)> f_;
};

} // namespace detail

template<class Store>
class write_path {
public:
  using factory = std::function<std::unique_ptr<Store>(database&)>;

  /// Unusable until assigned a configured one (actor state is
  /// default-constructed).
  write_path() = default;

  /// `timeout` bounds the wait for the journal's answer on SQLite.
  write_path(caf::actor_system& sys, const config::database_section& settings,
             factory make, std::chrono::milliseconds timeout)
      : sys_(&sys),
        make_(make),
        timeout_(timeout),
        sqlite_(parse_database_url(settings.url).backend
                == database_url::backend_kind::sqlite) {
    if (!sqlite_)
      own_ = store_connection<Store>(settings, std::move(make));
  }

  /// Runs `f(store, ctx)` where this backend writes; `f` opens its own
  /// transaction where it needs one. Errors as `store_connection::run`; on
  /// SQLite ec::database_unavailable when the journal is not there, or did
  /// not start the job within the timeout (it never runs then), and
  /// ec::database_error with the message of what `f` threw.
  template<class F>
  auto run(F&& f)
      -> caf::expected<std::invoke_result_t<F, Store&, writer_context&>> {
    using result = std::invoke_result_t<F, Store&, writer_context&>;
    if (!sqlite_)
      return own_.run([&f](Store& store, database& db) {
        writer_context ctx{db};
        return f(store, ctx);
      });
    auto journal = caf::actor_cast<journal_actor>(
        sys_->registry().get(registry_key::journal));
    if (!journal)
      return make_error(ec::database_unavailable, "the journal is not running");
    auto call = std::make_shared<detail::write_call<result>>();
    // `f` is taken by reference: the job runs it only while this thread
    // waits (a job not started in time is abandoned, one that started is
    // waited for).
    auto job = std::make_shared<detail::write_call_job<result>>(
        call, [this, &f](writer_context& ctx) -> result {
          // Made on the writer's connection for each call: the writer may
          // have reconnected since the last.
          auto store = make_(ctx.db);
          return f(*store, ctx);
        });
    caf::anon_send(journal, atom::write_v, writer_job_handle{std::move(job)});
    std::unique_lock<std::mutex> lock(call->mtx);
    if (!call->cv.wait_for(lock, timeout_, [&] {
          return call->phase == detail::write_phase::done;
        })) {
      if (call->phase == detail::write_phase::queued) {
        call->phase = detail::write_phase::abandoned;
        return make_error(ec::database_unavailable,
                          "the journal did not take the job in time");
      }
      call->cv.wait(lock,
                    [&] { return call->phase == detail::write_phase::done; });
    }
    if (!call->value)
      return make_error(call->failure_code, call->failure);
    return std::move(*call->value);
  }

private:
  caf::actor_system* sys_ = nullptr;
  factory make_;
  std::chrono::milliseconds timeout_{0};
  bool sqlite_ = true;
  store_connection<Store> own_;
};

/// Writes a worker's gathered outcomes with its store's `record` and
/// clears them; on failure they are kept for the next round (their tasks
/// stay leased meanwhile) and `who` names the worker in the warning.
template<class Store, class Outcome>
bool record_outcomes(write_path<Store>& writes, std::vector<Outcome>& outcomes,
                     const char* who) {
  if (outcomes.empty())
    return true;
  auto done = writes.run([&](Store& store, writer_context&) {
    store.record(outcomes, now_us());
    return true;
  });
  if (!done) {
    spdlog::warn("{} failed to record {} outcomes: {}", who, outcomes.size(),
                 describe(done.error()));
    return false;
  }
  outcomes.clear();
  return true;
}

} // namespace regevent
