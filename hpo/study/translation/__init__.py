"""The translation side of a study: its objective, checkpoints, and using a trained model."""
