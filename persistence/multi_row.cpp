#include "persistence/multi_row.hpp"

#include <soci/soci.h>

#include <stdexcept>
#include <utility>

namespace regevent {

/// One prepared statement for `rows` rows and the values it is bound to.
/// The bound vectors never change size after `prepare`: SOCI holds
/// references to their elements.
struct multi_row_insert::chunk {
  chunk(soci::session& sql, size_t rows, size_t text_columns,
        size_t integer_columns)
      : texts(rows * text_columns),
        integers(rows * integer_columns),
        statement(sql) {}

  std::vector<std::string> texts;
  std::vector<long long> integers;
  /// Sized one past the rows so that SOCI steps SQLite's statement to its
  /// end (a RETURNING statement left mid-step would hold the transaction
  /// open).
  std::vector<std::string> returned_texts;
  std::vector<long long> returned_integers;
  soci::statement statement;
};

multi_row_insert::multi_row_insert(soci::session& sql, std::string head,
                                   std::vector<column_type> columns,
                                   std::string tail, std::string returning,
                                   std::vector<column_type> returned_types)
    : sql_(sql),
      head_(std::move(head)),
      columns_(std::move(columns)),
      tail_(std::move(tail)),
      returning_(std::move(returning)),
      returned_types_(returning_.empty() || !returned_types.empty()
                          ? std::move(returned_types)
                          : std::vector<column_type>{column_type::text}) {
  if (columns_.empty())
    throw std::invalid_argument("multi_row_insert: no columns");
  size_t texts = 0, integers = 0;
  for (auto c : returned_types_)
    (c == column_type::text ? texts : integers) += 1;
  if (texts > 1 || integers > 1)
    throw std::invalid_argument(
        "multi_row_insert: at most one returned column of each type");
  for (auto c : columns_)
    (c == column_type::text ? text_columns_ : integer_columns_) += 1;
}

multi_row_insert::~multi_row_insert() = default;

multi_row_insert& multi_row_insert::text(std::string value) {
  if (columns_[values_ % columns_.size()] != column_type::text)
    throw std::logic_error("multi_row_insert: text for an integer column");
  texts_.push_back(std::move(value));
  ++values_;
  return *this;
}

multi_row_insert& multi_row_insert::integer(long long value) {
  if (columns_[values_ % columns_.size()] != column_type::integer)
    throw std::logic_error("multi_row_insert: integer for a text column");
  integers_.push_back(value);
  ++values_;
  return *this;
}

size_t multi_row_insert::rows() const {
  return values_ / columns_.size();
}

multi_row_insert::chunk& multi_row_insert::prepared(size_t index) {
  auto& slot = chunks_[index];
  if (slot)
    return *slot;
  auto rows = chunk_sizes[index];
  auto c = std::make_unique<chunk>(sql_, rows, text_columns_, integer_columns_);
  std::string query = head_ + " VALUES ";
  size_t placeholder = 0;
  for (size_t r = 0; r < rows; ++r) {
    query += r == 0 ? "(" : ", (";
    size_t t = 0, i = 0;
    for (size_t col = 0; col < columns_.size(); ++col) {
      if (col > 0)
        query += ", ";
      query += ":v" + std::to_string(placeholder++);
      if (columns_[col] == column_type::text)
        c->statement.exchange(soci::use(c->texts[r * text_columns_ + t++]));
      else
        c->statement.exchange(
            soci::use(c->integers[r * integer_columns_ + i++]));
    }
    query += ")";
  }
  if (!tail_.empty())
    query += " " + tail_;
  if (!returning_.empty()) {
    query += " RETURNING " + returning_;
    for (auto type : returned_types_) {
      if (type == column_type::text) {
        c->returned_texts.resize(rows + 1);
        c->statement.exchange(soci::into(c->returned_texts));
      } else {
        c->returned_integers.resize(rows + 1);
        c->statement.exchange(soci::into(c->returned_integers));
      }
    }
  }
  c->statement.alloc();
  c->statement.prepare(query);
  c->statement.define_and_bind();
  slot = std::move(c);
  return *slot;
}

void multi_row_insert::execute(std::vector<std::string>* texts_out,
                               std::vector<long long>* integers_out) {
  if (values_ % columns_.size() != 0)
    throw std::logic_error("multi_row_insert: a row is incomplete");
  size_t total = rows();
  // Taken out first: a statement that throws leaves nothing buffered for
  // the next transaction.
  auto texts = std::move(texts_);
  auto integers = std::move(integers_);
  texts_.clear();
  integers_.clear();
  values_ = 0;
  size_t row = 0;
  for (size_t index = 0; index < chunk_sizes.size() && row < total;) {
    auto rows = chunk_sizes[index];
    if (total - row < rows) {
      ++index;
      continue;
    }
    auto& c = prepared(index);
    for (size_t k = 0; k < rows * text_columns_; ++k)
      c.texts[k] = std::move(texts[row * text_columns_ + k]);
    for (size_t k = 0; k < rows * integer_columns_; ++k)
      c.integers[k] = integers[row * integer_columns_ + k];
    if (returning_.empty()) {
      c.statement.execute(true);
    } else {
      for (auto type : returned_types_) {
        if (type == column_type::text)
          c.returned_texts.resize(rows + 1);
        else
          c.returned_integers.resize(rows + 1);
      }
      c.statement.execute(true);
      if (texts_out)
        texts_out->insert(texts_out->end(),
                          std::make_move_iterator(c.returned_texts.begin()),
                          std::make_move_iterator(c.returned_texts.end()));
      if (integers_out)
        integers_out->insert(integers_out->end(), c.returned_integers.begin(),
                             c.returned_integers.end());
    }
    row += rows;
  }
}

} // namespace regevent
