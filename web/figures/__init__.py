"""Plotly figures of recorded runs, shared by the pages and the HTML report."""
