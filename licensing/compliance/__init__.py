"""Unlicensed-use detection and export screening: what licensing reports to privacy.legal."""
