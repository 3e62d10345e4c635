#include "http/envelope.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace regevent {

namespace {

using json = nlohmann::json;

/// Builds the DOM like nlohmann's own SAX parser, but stops at a nesting
/// limit and keeps the parse error's text, without exceptions.
class bounded_sax {
public:
  explicit bounded_sax(json& root) : dom_(root, false) {}

  bool null() {
    return dom_.null();
  }
  bool boolean(bool v) {
    return dom_.boolean(v);
  }
  bool number_integer(json::number_integer_t v) {
    return dom_.number_integer(v);
  }
  bool number_unsigned(json::number_unsigned_t v) {
    return dom_.number_unsigned(v);
  }
  bool number_float(json::number_float_t v, const json::string_t& s) {
    return dom_.number_float(v, s);
  }
  bool string(json::string_t& v) {
    return dom_.string(v);
  }
  bool binary(json::binary_t& v) {
    return dom_.binary(v);
  }
  bool start_object(std::size_t n) {
    return enter() && dom_.start_object(n);
  }
  bool key(json::string_t& k) {
    return dom_.key(k);
  }
  bool end_object() {
    --depth_;
    return dom_.end_object();
  }
  bool start_array(std::size_t n) {
    return enter() && dom_.start_array(n);
  }
  bool end_array() {
    --depth_;
    return dom_.end_array();
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) {
    error_ = ex.what();
    // nlohmann's text starts with "[json.exception.parse_error.101] ".
    if (auto pos = error_.find("] "); pos != std::string::npos)
      error_ = error_.substr(pos + 2);
    position_ = position;
    return false;
  }

  const std::string& error() const {
    return error_;
  }

private:
  bool enter() {
    if (++depth_ > envelope_limits::max_depth) {
      error_ = "JSON nesting deeper than "
               + std::to_string(envelope_limits::max_depth) + " levels";
      return false;
    }
    return true;
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  size_t depth_ = 0;
  std::string error_;
  size_t position_ = 0;
};

std::string string_at(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string())
    return {};
  return it->get<std::string>();
}

const json* object_at(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_object())
    return nullptr;
  return &*it;
}

/// Fills `out` from one event object; false when the event is unusable.
bool read_event(const json& ev, timestamp_us received, event_record& out) {
  if (!ev.is_object())
    return false;
  out.id = string_at(ev, "id");
  if (out.id.empty() || out.id.size() > envelope_limits::max_id)
    return false;
  out.action = string_at(ev, "action");
  if (out.action != "push" && out.action != "pull" && out.action != "mount"
      && out.action != "delete")
    return false;
  const json* target = object_at(ev, "target");
  if (target == nullptr)
    return false;
  out.repository = string_at(*target, "repository");
  if (out.repository.empty()
      || out.repository.size() > envelope_limits::max_repository)
    return false;
  out.tag = string_at(*target, "tag");
  out.digest = string_at(*target, "digest");
  out.media_type = string_at(*target, "mediaType");
  if (auto it = target->find("size");
      it != target->end() && it->is_number_integer())
    out.size = it->get<long long>();
  out.received = received;
  if (!parse_rfc3339(string_at(ev, "timestamp"), out.time))
    out.time = received;
  if (const json* request = object_at(ev, "request")) {
    out.method = string_at(*request, "method");
    out.user_agent = string_at(*request, "useragent");
    out.client_addr = string_at(*request, "addr");
  }
  if (const json* actor = object_at(ev, "actor"))
    out.actor = string_at(*actor, "name");
  if (const json* source = object_at(ev, "source"))
    out.source_addr = string_at(*source, "addr");
  out.raw = ev.dump(-1, ' ', false, json::error_handler_t::replace);
  return true;
}

} // namespace

std::optional<envelope> parse_envelope(std::string_view body,
                                       timestamp_us received,
                                       std::string& error) {
  if (body.empty()) {
    error = "empty body: expected a JSON envelope {\"events\":[...]}";
    return std::nullopt;
  }
  json root;
  bounded_sax sax(root);
  bool ok = json::sax_parse(body.begin(), body.end(), &sax,
                            json::input_format_t::json, true);
  if (!ok) {
    error = "invalid JSON: "
            + (sax.error().empty() ? std::string("parse error") : sax.error());
    return std::nullopt;
  }
  if (!root.is_object()) {
    error = "envelope must be a JSON object with an \"events\" array";
    return std::nullopt;
  }
  auto it = root.find("events");
  if (it == root.end()) {
    error = "envelope has no \"events\" array";
    return std::nullopt;
  }
  if (!it->is_array()) {
    error = "\"events\" must be an array";
    return std::nullopt;
  }
  envelope result;
  result.events.reserve(it->size());
  for (const auto& ev : *it) {
    event_record record;
    if (read_event(ev, received, record))
      result.events.push_back(std::move(record));
    else
      ++result.ignored;
  }
  return result;
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
