#pragma once

/// Work for the single writer that is neither an append, a final state nor
/// an effect batch: recovery's claims and heartbeat, retention's steps,
/// webhook claims and outcomes. On SQLite only one connection may write
/// without the others waiting in the busy handler, so these run on the
/// journal's connection between group commits instead of on their actors'
/// connections.

#include <array>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace regevent {

class database;
class journal_store;

/// What a job sees of the writer.
struct writer_context {
  database& db;
  /// The journal's statements, prepared on the writer's connection (null
  /// where an actor writes on its own connection: PostgreSQL).
  journal_store* journal = nullptr;
  /// Events the job deleted, by status (indexed as `event_status_names`):
  /// the journal keeps the counts by status by transitions, not by reading
  /// the table, and subtracts these.
  std::array<long long, 4> removed{};
};

class writer_job {
public:
  virtual ~writer_job() = default;
  /// Runs on the writer's connection with no transaction open: a job that
  /// writes more than one statement opens its own (`write_transaction`),
  /// which its exception rolls back. The journal's group commits are never
  /// part of it.
  virtual void run(writer_context& ctx) = 0;
};

/// The message form of a job; in-process only.
struct writer_job_handle {
  std::shared_ptr<writer_job> job;
};

/// A job made of a function of the context; its result is kept for the
/// requester, who reads it once the journal answered.
template<class F>
class function_job final : public writer_job {
public:
  using result_type = std::invoke_result_t<F&, writer_context&>;

  explicit function_job(F f) : f_(std::move(f)) {}

  void run(writer_context& ctx) override {
    result.emplace(f_(ctx));
  }

  std::optional<result_type> result;

private:
  F f_;
};

template<class F>
std::shared_ptr<function_job<F>> make_writer_job(F f) {
  return std::make_shared<function_job<F>>(std::move(f));
}

} // namespace regevent
