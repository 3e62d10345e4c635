#include "config/logging.hpp"

#include "config/error.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/details/file_helper.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>

namespace regevent {

namespace {

/// `%*`: the message as a JSON string literal, quotes and escapes included.
class json_message_flag : public spdlog::custom_flag_formatter {
public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    auto text
        = nlohmann::json(std::string(msg.payload.data(), msg.payload.size()))
              .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_message_flag>();
  }
};

/// A file sink that can be pointed at a new file of the same name while
/// the daemon runs. spdlog's basic_file_sink cannot: after logrotate
/// renames the file it would write into the renamed one forever.
class reopening_file_sink : public spdlog::sinks::base_sink<std::mutex> {
public:
  explicit reopening_file_sink(std::string path) : path_(std::move(path)) {
    file_ = open(path_);
  }

  /// The new file is opened before the old one is closed, so that a
  /// failure leaves the logger writing somewhere.
  bool reopen() {
    std::unique_ptr<spdlog::details::file_helper> fresh;
    try {
      fresh = open(path_);
    } catch (const spdlog::spdlog_ex&) {
      return false;
    }
    std::lock_guard<std::mutex> guard(mutex_);
    file_->flush();
    file_ = std::move(fresh);
    return true;
  }

  const std::string& path() const {
    return path_;
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    file_->write(formatted);
    // Unbuffered, as stderr is: `tail -f` and a shipper see each line at
    // once, and a crash loses none. Lines are few (2xx requests log at
    // debug).
    file_->flush();
  }
  void flush_() override {
    file_->flush();
  }

private:
  static std::unique_ptr<spdlog::details::file_helper>
  open(const std::string& path) {
    auto file = std::make_unique<spdlog::details::file_helper>();
    // Appends: a restart, or a reopen that finds the file still there,
    // keeps what was logged before.
    file->open(path, false);
    return file;
  }

  std::string path_;
  std::unique_ptr<spdlog::details::file_helper> file_;
};

/// The process has one logger; SIGHUP reaches it through this.
std::shared_ptr<reopening_file_sink> log_file;

} // namespace

void setup_logging(const config& cfg) {
  spdlog::sink_ptr sink;
  log_file.reset();
  if (cfg.log.file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    try {
      log_file = std::make_shared<reopening_file_sink>(cfg.log.file);
    } catch (const spdlog::spdlog_ex& e) {
      throw config_error("log.file: " + std::string(e.what()));
    }
    sink = log_file;
  }
  auto logger = std::make_shared<spdlog::logger>("regevent", sink);
  if (cfg.log.format == "json") {
    // The keys are a contract with log shippers: renaming one breaks
    // their queries, so they are spelled out in the README.
    auto formatter = std::make_unique<spdlog::pattern_formatter>(
        spdlog::pattern_time_type::utc);
    formatter->add_flag<json_message_flag>('*').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n","thread":%t,"msg":%*})");
    logger->set_formatter(std::move(formatter));
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%t] %v",
                        spdlog::pattern_time_type::utc);
  }
  logger->set_level(spdlog::level::from_str(cfg.log.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

bool reopen_log_file() {
  if (!log_file)
    return true;
  return log_file->reopen();
}

} // namespace regevent
