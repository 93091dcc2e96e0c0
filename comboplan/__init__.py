"""comboplan: quantitative pharmacology of combination therapies."""
__version__ = "0.1.0"
