"""The ipvs actor."""
