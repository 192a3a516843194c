"""The policy engine: pseudonyms, the field vault and the shared error base.

``privacy`` never imports ``licensing``: the product registers with it.
"""
