"""Evaluation: predictions, error and ranking metrics with bootstrap intervals, results over seeds, and the
promotion rule. Reads data, models and training, nothing above."""
