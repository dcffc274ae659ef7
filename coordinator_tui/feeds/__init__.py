"""Newsletter feeds: fetching over HTTP, parsing, refreshing all feeds into the store, OPML (no Textual)."""
