#pragma once

/// Multi-row INSERT statements: a batch of rows written with a handful of
/// statements instead of one per row. On PostgreSQL every statement is a
/// round trip, so a batch of 200 events used to cost some 600 of them; on
/// SQLite every statement is a bind-step-reset through SOCI.

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace regevent {

enum class column_type { text, integer };

/// Rows buffered for one multi-row INSERT. The rows are written in the
/// order they were added (callers sort them, so that instances sharing
/// PostgreSQL take row locks in one order), in chunks of a few fixed sizes
/// whose statements are prepared once and reused.
///
/// `head` is `INSERT INTO t (a, b, c)`, `tail` what follows the VALUES list
/// (`ON CONFLICT ...`). `returning`, if not empty, names the columns of the
/// rows the database reports back (`RETURNING x` or `RETURNING x, y`), at
/// most one text and one integer column, in `returned_types` order: only the
/// rows actually inserted under `ON CONFLICT DO NOTHING`.
class multi_row_insert {
public:
  multi_row_insert(soci::session& sql, std::string head,
                   std::vector<column_type> columns, std::string tail,
                   std::string returning = {},
                   std::vector<column_type> returned_types = {});
  ~multi_row_insert();
  multi_row_insert(const multi_row_insert&) = delete;
  multi_row_insert& operator=(const multi_row_insert&) = delete;

  /// Appends one row; values are given in column order with `text` and
  /// `integer`, exactly one per column.
  multi_row_insert& text(std::string value);
  multi_row_insert& integer(long long value);

  size_t rows() const;

  /// Writes every buffered row and forgets them. With `returning`, the
  /// reported values of all chunks are appended to `*texts` and
  /// `*integers` (row i of the report is texts[i] and integers[i]).
  void execute(std::vector<std::string>* texts = nullptr,
               std::vector<long long>* integers = nullptr);

  /// Rows per chunk, largest first; a batch is cut greedily into them.
  static constexpr std::array<size_t, 5> chunk_sizes{256, 64, 16, 4, 1};

private:
  struct chunk;
  chunk& prepared(size_t index);

  soci::session& sql_;
  const std::string head_;
  const std::vector<column_type> columns_;
  const std::string tail_;
  const std::string returning_;
  const std::vector<column_type> returned_types_;
  size_t text_columns_ = 0;
  size_t integer_columns_ = 0;
  /// Buffered values, row-major, one vector per type.
  std::vector<std::string> texts_;
  std::vector<long long> integers_;
  size_t values_ = 0;
  std::array<std::unique_ptr<chunk>, chunk_sizes.size()> chunks_;
};

} // namespace regevent
