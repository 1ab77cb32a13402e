"""Plotly figures, one module per kind of picture. Built here, only displayed by pages."""
