"""One article: strategy passes, instructor glue, record checks, failure kinds."""
