#include "bench/load.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <optional>
#include <thread>

namespace regevent::bench {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

/// Pause before sending a delivery again after a transport error or a 503;
/// a registry backs off longer, but a benchmark wants the retry measured.
constexpr auto retry_pause = std::chrono::milliseconds(20);
/// Consecutive failures after which a sender gives up: the daemon is gone.
constexpr uint32_t max_consecutive_failures = 500;
/// No single exchange may hang a run.
constexpr auto exchange_timeout = std::chrono::seconds(30);

struct shared_load {
  const load_plan& plan;
  const workload_options& workload;
  /// Where each sender posts: sender i to endpoints[i mod size].
  std::vector<tcp::endpoint> endpoints;
  std::string head_prefix;
  std::atomic<int64_t> tickets{0};
  bench_clock::time_point start;
  bench_clock::time_point end_by;
};

uint64_t field_value(const std::string& body, const char* key) {
  auto pos = body.find(key);
  if (pos == std::string::npos)
    return 0;
  return std::strtoull(body.c_str() + pos + std::strlen(key), nullptr, 10);
}

class sender : public std::enable_shared_from_this<sender> {
public:
  sender(net::io_context& ioc, shared_load& shared, uint32_t index, size_t slot,
         size_t senders)
      : shared_(shared),
        endpoint_(shared.endpoints[slot % shared.endpoints.size()]),
        stream_(ioc),
        timer_(ioc),
        gen_(shared.workload, index),
        result_() {
    result_.acknowledged = ledger(shared.workload.repositories);
    if (shared.plan.rate > 0) {
      interval_ = std::chrono::duration<double>(static_cast<double>(senders)
                                                / shared.plan.rate);
      // Spread the senders' schedules over one interval, so that the
      // daemon sees a steady stream rather than bursts of `senders`.
      phase_ = interval_
               * (static_cast<double>(slot) / static_cast<double>(senders));
    }
  }

  void start() {
    next();
  }

  load_result& result() {
    return result_;
  }

private:
  bool paced() const {
    return shared_.plan.rate > 0;
  }

  bench_clock::time_point due_time() const {
    return shared_.start
           + std::chrono::duration_cast<bench_clock::duration>(
               phase_ + interval_ * static_cast<double>(scheduled_));
  }

  bool take_ticket() {
    if (shared_.plan.deliveries > 0)
      return shared_.tickets.fetch_sub(1) > 0;
    auto when = paced() ? due_time() : bench_clock::now();
    return when < shared_.end_by;
  }

  void next() {
    if (!take_ticket())
      return close();
    current_ = gen_.next();
    attempts_ = 0;
    if (paced()) {
      due_ = due_time();
      ++scheduled_;
      if (due_ > bench_clock::now()) {
        timer_.expires_at(due_);
        timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
          if (!ec)
            self->send();
        });
        return;
      }
    } else {
      due_ = bench_clock::now();
    }
    send();
  }

  void send() {
    ++attempts_;
    if (!connected_) {
      stream_.expires_after(exchange_timeout);
      stream_.async_connect(endpoint_,
                            [self = shared_from_this()](beast::error_code ec) {
                              self->on_connect(ec);
                            });
      return;
    }
    write();
  }

  void on_connect(beast::error_code ec) {
    if (ec)
      return fail(ec, "connect");
    connected_ = true;
    stream_.socket().set_option(tcp::no_delay(true));
    buffer_.clear();
    write();
  }

  void write() {
    head_ = shared_.head_prefix;
    head_ += "Content-Length: ";
    head_ += std::to_string(current_.body.size());
    head_ += "\r\n\r\n";
    std::array<net::const_buffer, 2> buffers{net::buffer(head_),
                                             net::buffer(current_.body)};
    stream_.expires_after(exchange_timeout);
    net::async_write(
        stream_, buffers,
        [self = shared_from_this()](beast::error_code ec, std::size_t) {
          self->on_write(ec);
        });
  }

  void on_write(beast::error_code ec) {
    if (ec)
      return fail(ec, "write");
    parser_.emplace();
    parser_->body_limit(1 << 20);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) {
          self->on_read(ec);
        });
  }

  void on_read(beast::error_code ec) {
    if (ec)
      return fail(ec, "read");
    auto now = bench_clock::now();
    auto& res = parser_->get();
    auto status = res.result_int();
    bool keep_alive = res.keep_alive();
    if (!keep_alive)
      close();
    failures_ = 0;
    if (status == 503) {
      ++result_.unavailable;
      return retry_later();
    }
    if (status < 200 || status >= 300) {
      ++result_.rejected;
      problem("answered " + std::to_string(status) + ": " + res.body());
      return next();
    }
    const auto& body = res.body();
    if (!shared_.plan.regevent_answers) {
      if (current_.duplicate)
        ++result_.answered_duplicates;
      else
        ++result_.answered_accepted;
      return acknowledge(now);
    }
    auto accepted = field_value(body, "\"accepted\":");
    auto duplicates = field_value(body, "\"duplicates\":");
    auto ignored = field_value(body, "\"ignored\":");
    result_.answered_accepted += accepted;
    result_.answered_duplicates += duplicates;
    result_.answered_ignored += ignored;
    // A delivery sent again after a transport error may have been
    // journaled the first time: then "duplicate" is the right answer.
    bool expected = current_.duplicate ? accepted == 0 && duplicates == 1
                                       : accepted == 1 && duplicates == 0;
    bool tolerated = attempts_ > 1 && accepted + duplicates == 1;
    if (!expected && !tolerated) {
      ++result_.answer_mismatches;
      problem("event " + current_.id + (current_.duplicate ? " (re-sent)" : "")
              + " answered " + body);
    }
    acknowledge(now);
  }

  void acknowledge(bench_clock::time_point now) {
    result_.acknowledged.record(current_);
    gen_.answered(current_);
    auto at = std::chrono::duration_cast<std::chrono::milliseconds>(
                  due_ - shared_.start)
                  .count();
    auto latency = std::chrono::duration<float, std::micro>(now - due_);
    result_.samples.push_back(
        {static_cast<uint32_t>(std::max<long long>(0, at)), latency.count()});
    next();
  }

  void fail(beast::error_code ec, const char* what) {
    ++result_.transport_errors;
    close();
    if (++failures_ >= max_consecutive_failures) {
      problem(std::string("sender gave up after ") + what + " failed "
              + std::to_string(failures_) + " times: " + ec.message());
      return;
    }
    retry_later();
  }

  void retry_later() {
    timer_.expires_after(retry_pause);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec)
        self->send();
    });
  }

  void close() {
    if (!connected_)
      return;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
    connected_ = false;
  }

  void problem(const std::string& what) {
    if (result_.first_problem.empty())
      result_.first_problem = what;
  }

  shared_load& shared_;
  tcp::endpoint endpoint_;
  beast::tcp_stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  generator gen_;
  delivery current_;
  std::string head_;
  bool connected_ = false;
  uint32_t attempts_ = 0;
  uint32_t failures_ = 0;
  std::chrono::duration<double> interval_{0};
  std::chrono::duration<double> phase_{0};
  uint64_t scheduled_ = 0;
  bench_clock::time_point due_;
  load_result result_;
};

} // namespace

load_result run_load(const load_plan& plan, const workload_options& workload,
                     uint32_t first_sender) {
  net::io_context ioc(static_cast<int>(plan.threads));
  shared_load shared{plan, workload, {}, {}, {}, {}, {}};
  shared.endpoints.emplace_back(net::ip::make_address(plan.host), plan.port);
  for (const auto& [host, port] : plan.also)
    shared.endpoints.emplace_back(net::ip::make_address(host), port);
  // The headers Distribution's Go client sends with every notification.
  shared.head_prefix = "POST /service/notifications HTTP/1.1\r\nHost: "
                       + plan.host + ":" + std::to_string(plan.port)
                       + "\r\nUser-Agent: Go-http-client/1.1\r\n"
                         "Content-Type: "
                         "application/vnd.docker.distribution.events.v1+json"
                         "\r\nAccept-Encoding: gzip\r\n";
  if (!plan.token.empty())
    shared.head_prefix += "Authorization: Bearer " + plan.token + "\r\n";
  shared.tickets = static_cast<int64_t>(plan.deliveries);
  std::vector<std::shared_ptr<sender>> senders;
  for (size_t i = 0; i < plan.senders; ++i)
    senders.push_back(std::make_shared<sender>(
        ioc, shared, first_sender + static_cast<uint32_t>(i), i, plan.senders));
  shared.start = bench_clock::now();
  shared.end_by = shared.start
                  + std::chrono::duration_cast<bench_clock::duration>(
                      std::chrono::duration<double>(plan.duration_s));
  for (auto& s : senders)
    s->start();
  std::vector<std::thread> threads;
  for (size_t i = 1; i < plan.threads; ++i)
    threads.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : threads)
    t.join();
  load_result total;
  total.started = shared.start;
  total.finished = bench_clock::now();
  total.acknowledged = ledger(workload.repositories);
  for (auto& s : senders) {
    auto& r = s->result();
    total.samples.insert(total.samples.end(), r.samples.begin(),
                         r.samples.end());
    total.acknowledged.merge(r.acknowledged);
    total.answered_accepted += r.answered_accepted;
    total.answered_duplicates += r.answered_duplicates;
    total.answered_ignored += r.answered_ignored;
    total.unavailable += r.unavailable;
    total.rejected += r.rejected;
    total.transport_errors += r.transport_errors;
    total.answer_mismatches += r.answer_mismatches;
    if (total.first_problem.empty())
      total.first_problem = r.first_problem;
  }
  return total;
}

} // namespace regevent::bench
