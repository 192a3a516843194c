"""The foundation privacy and licensing stand on: database handle and column types,
identifiers, the error base, the JSON edge, CLI helpers, tokens, attempt limits, health.

``core`` imports neither ``privacy`` nor ``licensing``.
"""
