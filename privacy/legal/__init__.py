"""Legal-obligation records, the sharing matrix and the disclosure outbox.

Records of unlicensed use and export compliance live in their own store (the
``compliance`` bind), carry purpose tags and the lawful basis Legal
obligation, and name their subject only by a reference that the store alone
cannot turn back into a person. Disclosing them goes through one service that
checks the sharing matrix, minimises the payload, logs the disclosure and
delivers it through a durable outbox. Nothing here knows what a license is:
the product reports what it detected as observations.
"""
