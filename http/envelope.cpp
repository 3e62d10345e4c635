#include "http/envelope.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <iterator>

namespace regevent {

namespace {

using json = nlohmann::json;

/// A `const char*` over the body that also publishes how far nlohmann's
/// lexer has read, since `sax_parse` tells a handler no offsets. The lexer
/// reads a token's bytes one by one and looks one byte ahead only to end a
/// number (that byte is then the next token's first) and, at the very
/// start, for a byte order mark: so when the handler hears `start_object`
/// or `end_object`, the last byte read is that very brace, and an event's
/// byte range is known exactly. The envelope tests pin this down, should a
/// later nlohmann read ahead further.
class reading_iterator {
public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  reading_iterator(const char* at, const char** read) : at_(at), read_(read) {}

  reference operator*() const {
    return *at_;
  }
  reading_iterator& operator++() {
    *read_ = ++at_;
    return *this;
  }
  reading_iterator operator++(int) {
    auto old = *this;
    ++*this;
    return old;
  }
  // An input iterator compares both ways; nlohmann only ever uses !=, and
  // clang warns about an unused function in this anonymous namespace.
  [[maybe_unused]] friend bool operator==(const reading_iterator& x,
                                          const reading_iterator& y) {
    return x.at_ == y.at_;
  }
  friend bool operator!=(const reading_iterator& x, const reading_iterator& y) {
    return x.at_ != y.at_;
  }

private:
  const char* at_;
  const char** read_;
};

/// What an open object or array is to the envelope.
enum class role : uint8_t {
  top,
  other,
  root,
  events,
  event,
  target,
  request,
  actor,
  source,
};

/// What the value after a key is for.
enum class field : uint8_t {
  none,
  events,
  id,
  timestamp,
  action,
  target,
  request,
  actor,
  source,
  repository,
  tag,
  digest,
  media_type,
  size,
  method,
  user_agent,
  client_addr,
  actor_name,
  source_addr,
};

/// The keys the envelope reads, each in the object it belongs to: the
/// rest of the body is only checked to be JSON.
struct known_key {
  role in;
  std::string_view key;
  field is;
};

constexpr known_key known_keys[] = {
    {role::root, "events", field::events},
    {role::event, "id", field::id},
    {role::event, "timestamp", field::timestamp},
    {role::event, "action", field::action},
    {role::event, "target", field::target},
    {role::event, "request", field::request},
    {role::event, "actor", field::actor},
    {role::event, "source", field::source},
    {role::target, "repository", field::repository},
    {role::target, "tag", field::tag},
    {role::target, "digest", field::digest},
    {role::target, "mediaType", field::media_type},
    {role::target, "size", field::size},
    {role::request, "method", field::method},
    {role::request, "useragent", field::user_agent},
    {role::request, "addr", field::client_addr},
    {role::actor, "name", field::actor_name},
    {role::source, "addr", field::source_addr},
};

field field_of(role in, std::string_view key) {
  // Most keys of a body are in objects the envelope does not read.
  if (in == role::other)
    return field::none;
  for (const auto& known : known_keys)
    if (known.in == in && known.key == key)
      return known.is;
  return field::none;
}

bool known_action(const std::string& action) {
  return action == "push" || action == "pull" || action == "mount"
         || action == "delete";
}

/// Reads an envelope in one SAX pass: picks the fields of each event as
/// they go by, without a DOM, and cuts each event's original text out of
/// the body. A repeated key counts as its last occurrence, as it did in
/// the DOM. Stops at a nesting limit and keeps the parse error's text,
/// without exceptions. Structural faults (a non-object root, no events
/// array) do not stop the pass, so that malformed JSON is reported as such
/// whatever its shape.
class envelope_reader {
public:
  envelope_reader(std::string_view body, timestamp_us received)
      : read_(body.data()), received_(received) {}

  bool null() {
    return scalar();
  }
  bool boolean(bool) {
    return scalar();
  }
  bool number_integer(json::number_integer_t v) {
    if (field_ == field::size)
      event_.size = v;
    return scalar();
  }
  bool number_unsigned(json::number_unsigned_t v) {
    if (field_ == field::size)
      event_.size = static_cast<long long>(v);
    return scalar();
  }
  bool number_float(json::number_float_t, const json::string_t&) {
    return scalar();
  }
  bool string(json::string_t& v) {
    if (auto* slot = text_of(field_))
      *slot = v;
    return scalar();
  }
  bool binary(json::binary_t&) {
    return scalar();
  }
  bool start_object(std::size_t) {
    return open(true);
  }
  bool start_array(std::size_t) {
    return open(false);
  }
  bool end_object() {
    return close();
  }
  bool end_array() {
    return close();
  }
  bool key(json::string_t& k) {
    field_ = field_of(roles_[depth_], k);
    forget(field_);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const json::exception& ex) {
    error_ = ex.what();
    // nlohmann's text starts with "[json.exception.parse_error.101] ".
    if (auto pos = error_.find("] "); pos != std::string::npos)
      error_ = error_.substr(pos + 2);
    return false;
  }

  /// Where the lexer has read to: the iterators keep it up to date.
  const char** read() {
    return &read_;
  }
  const std::string& error() const {
    return error_;
  }
  bool root_is_object() const {
    return root_is_object_;
  }
  bool has_events() const {
    return has_events_;
  }
  bool events_is_array() const {
    return events_is_array_;
  }
  envelope take() {
    return std::move(result_);
  }

private:
  /// A value that opens nothing.
  bool scalar() {
    if (roles_[depth_] == role::events)
      ++result_.ignored;
    field_ = field::none;
    return true;
  }

  bool open(bool object) {
    if (depth_ == envelope_limits::max_depth) {
      error_ = "JSON nesting deeper than "
               + std::to_string(envelope_limits::max_depth) + " levels";
      return false;
    }
    auto parent = roles_[depth_];
    auto child = role::other;
    if (parent == role::events) {
      if (object) {
        child = role::event;
        begin_event();
      } else {
        ++result_.ignored;
      }
    } else if (!object) {
      if (field_ == field::events) {
        child = role::events;
        events_is_array_ = true;
      }
    } else if (parent == role::top) {
      child = role::root;
      root_is_object_ = true;
    } else if (field_ == field::target) {
      child = role::target;
      has_target_ = true;
    } else if (field_ == field::request) {
      child = role::request;
    } else if (field_ == field::actor) {
      child = role::actor;
    } else if (field_ == field::source) {
      child = role::source;
    }
    roles_[++depth_] = child;
    field_ = field::none;
    return true;
  }

  bool close() {
    if (roles_[depth_] == role::event)
      end_event();
    --depth_;
    return true;
  }

  void begin_event() {
    event_ = event_record{};
    timestamp_.clear();
    has_target_ = false;
    // The lexer has just read the event's `{`.
    event_begin_ = read_ - 1;
  }

  void end_event() {
    if (!usable()) {
      ++result_.ignored;
      return;
    }
    event_.received = received_;
    if (!parse_rfc3339(timestamp_, event_.time))
      event_.time = received_;
    // The lexer has just read the event's `}`.
    event_.raw.assign(event_begin_, read_);
    result_.events.push_back(std::move(event_));
  }

  /// An event without these is counted, never a reason to reject the batch.
  bool usable() const {
    return !event_.id.empty() && event_.id.size() <= envelope_limits::max_id
           && known_action(event_.action) && has_target_
           && !event_.repository.empty()
           && event_.repository.size() <= envelope_limits::max_repository;
  }

  /// Where a string value of `f` goes, if anywhere.
  std::string* text_of(field f) {
    switch (f) {
      case field::id:
        return &event_.id;
      case field::timestamp:
        return &timestamp_;
      case field::action:
        return &event_.action;
      case field::repository:
        return &event_.repository;
      case field::tag:
        return &event_.tag;
      case field::digest:
        return &event_.digest;
      case field::media_type:
        return &event_.media_type;
      case field::method:
        return &event_.method;
      case field::user_agent:
        return &event_.user_agent;
      case field::client_addr:
        return &event_.client_addr;
      case field::actor_name:
        return &event_.actor;
      case field::source_addr:
        return &event_.source_addr;
      default:
        return nullptr;
    }
  }

  /// A key seen again replaces what its earlier occurrence said.
  void forget(field f) {
    switch (f) {
      case field::events:
        result_ = envelope{};
        has_events_ = true;
        events_is_array_ = false;
        break;
      case field::target:
        has_target_ = false;
        event_.repository.clear();
        event_.tag.clear();
        event_.digest.clear();
        event_.media_type.clear();
        event_.size = 0;
        break;
      case field::request:
        event_.method.clear();
        event_.user_agent.clear();
        event_.client_addr.clear();
        break;
      case field::actor:
        event_.actor.clear();
        break;
      case field::source:
        event_.source_addr.clear();
        break;
      case field::size:
        event_.size = 0;
        break;
      default:
        if (auto* slot = text_of(f))
          slot->clear();
    }
  }

  const char* read_;
  timestamp_us received_;
  std::array<role, envelope_limits::max_depth + 1> roles_{role::top};
  size_t depth_ = 0;
  field field_ = field::none;
  bool root_is_object_ = false;
  bool has_events_ = false;
  bool events_is_array_ = false;
  envelope result_;
  event_record event_;
  std::string timestamp_;
  bool has_target_ = false;
  const char* event_begin_ = nullptr;
  std::string error_;
};

} // namespace

std::optional<envelope> parse_envelope(std::string_view body,
                                       timestamp_us received,
                                       std::string& error) {
  if (body.empty()) {
    error = "empty body: expected a JSON envelope {\"events\":[...]}";
    return std::nullopt;
  }
  envelope_reader reader(body, received);
  reading_iterator first(body.data(), reader.read());
  reading_iterator last(body.data() + body.size(), reader.read());
  bool ok
      = json::sax_parse(first, last, &reader, json::input_format_t::json, true);
  if (!ok) {
    error = "invalid JSON: "
            + (reader.error().empty() ? std::string("parse error")
                                      : reader.error());
    return std::nullopt;
  }
  if (!reader.root_is_object()) {
    error = "envelope must be a JSON object with an \"events\" array";
    return std::nullopt;
  }
  if (!reader.has_events()) {
    error = "envelope has no \"events\" array";
    return std::nullopt;
  }
  if (!reader.events_is_array()) {
    error = "\"events\" must be an array";
    return std::nullopt;
  }
  return reader.take();
}
bool is_notification_content_type(std::string_view content_type) {
  auto semicolon = content_type.find(';');
  auto type = content_type.substr(0, semicolon);
  while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back())))
    type.remove_suffix(1);
  while (!type.empty()
         && std::isspace(static_cast<unsigned char>(type.front())))
    type.remove_prefix(1);
  std::string lower(type);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return lower == "application/vnd.docker.distribution.events.v1+json"
         || lower == "application/vnd.docker.distribution.events.v2+json"
         || lower == "application/json";
}

} // namespace regevent
