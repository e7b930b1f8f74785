"""The audit trail's pure domain: entries, their canonical form, the hash chain and pseudonyms."""
