"""results.csv, tables, figures, verdicts."""
