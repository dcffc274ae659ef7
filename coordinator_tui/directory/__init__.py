"""The network directory's rules: validating people, CSV import with a dry-run preview, CSV export."""
