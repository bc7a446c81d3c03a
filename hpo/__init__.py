"""hpo: hyperparameter optimization of PyTorch NLP models with Optuna."""

__version__ = "0.1.0"
