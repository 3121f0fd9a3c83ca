"""--batch: the provider's Batch API client, its ledger, and the rounds."""
